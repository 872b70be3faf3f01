/* Today's trend per 15-minute slot of every hall, and the same weekday's
 * typical (see trend.h). Records are allocated per hall at its first
 * event and kept by hall number; the slots are under the module's mutex,
 * the typical cache is the loop thread's alone (only answers read it). */
#include "trend.h"

#include "hqstore.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TR_NONE 0xFFFFu /* a waiting slot with no sample */
#define TR_U16_MAX 0xFFFEu
#define TR_ZONES_LISTED 8

typedef struct tr_hall {
    const hb_tz_t *tz;
    int32_t day;      /* local day of the slots; INT32_MIN: none yet */
    int16_t acc_slot; /* the slot being sampled, -1: none */
    uint16_t last_waiting;
    int64_t last_ms;      /* the last waiting sample, 0: none */
    int64_t gap_until_ms; /* events at or before it were rebuilt, not counted (0: none) */
    uint64_t acc_wms;     /* the slot being sampled: waiting x ms ... */
    uint32_t acc_ms;      /* ... over this many ms */
    uint16_t served[HQ_TREND_SLOTS];
    uint16_t waiting[HQ_TREND_SLOTS]; /* tenths of the slot's mean; TR_NONE: no sample */
    /* The typical day (loop thread only): the mean served per local hour
     * in tenths, over `typ_days` same weekdays before `typ_day`. */
    int32_t typ_day;
    uint8_t typ_days;
    uint8_t typ_weeks;
    int64_t typ_at_ms;
    uint16_t typ_served[24];
} tr_hall_t;

struct hq_trend {
    pthread_mutex_t lock;
    HB_VEC(tr_hall_t *) halls; /* by hall number */
};

hq_trend_t *hq_trend_new(void)
{
    hq_trend_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->lock, NULL);
    t->halls.max = HQ_HALLS_MAX + 1;
    return t;
}

static void s_fini(hq_trend_t *t)
{
    hb_vec_free_owned(&t->halls);
    pthread_mutex_destroy(&t->lock);
}

void hq_trend_destroy(hq_trend_t **tp) { HB_DESTROY(tp, s_fini); }

static const hb_tz_t *s_utc(void)
{
    const hb_tz_t *utc = NULL;
    hb_tz_get("UTC", &utc, NULL, 0);
    return utc;
}

/* The zone named `zone`, kept on the record so that the name is looked up
 * only when it changes. */
static void s_zone(tr_hall_t *h, const char *zone)
{
    const char *name = zone && zone[0] ? zone : "UTC";
    if (h->tz && strcmp(hb_tz_name(h->tz), name) == 0)
        return;
    const hb_tz_t *tz = NULL;
    if (hb_tz_get(name, &tz, NULL, 0) != 0)
        tz = s_utc();
    h->tz = tz;
}

static void s_day_reset(tr_hall_t *h, int32_t day)
{
    h->day = day;
    memset(h->served, 0, sizeof h->served);
    memset(h->waiting, 0xFF, sizeof h->waiting);
    h->acc_slot = -1;
    h->acc_wms = 0;
    h->acc_ms = 0;
}

/* Hall `num`'s record, made at first use; under the lock. */
static tr_hall_t *s_hall(hq_trend_t *t, uint32_t num, const char *zone)
{
    if (!num)
        return NULL;
    tr_hall_t **slot = hb_vec_at(&t->halls, num);
    if (!slot)
        return NULL;
    if (!*slot) {
        tr_hall_t *h = calloc(1, sizeof *h);
        if (!h)
            return NULL;
        s_day_reset(h, INT32_MIN);
        h->typ_day = INT32_MIN;
        *slot = h;
    }
    s_zone(*slot, zone);
    return *slot;
}

/* Local day and slot of `ms` in `tz`. */
static void s_where(const hb_tz_t *tz, int64_t ms, int32_t *day, int *slot)
{
    hb_civil_t c;
    hb_tz_civil(tz, ms, &c);
    *day = hb_days_from_civil(c.year, c.month, c.day);
    *slot = (c.hour * 60 + c.min) / HQ_TREND_SLOT_MIN;
}

static uint16_t s_add16(uint16_t a, uint32_t b)
{
    uint32_t s = (uint32_t)a + b;
    return s > TR_U16_MAX ? TR_U16_MAX : (uint16_t)s;
}

void hq_trend_served(hq_trend_t *t, uint32_t num, const char *zone, int64_t at_ms, uint32_t n)
{
    pthread_mutex_lock(&t->lock);
    tr_hall_t *h = s_hall(t, num, zone);
    if (h) {
        int32_t day;
        int slot;
        s_where(h->tz, at_ms, &day, &slot);
        if (day > h->day)
            s_day_reset(h, day);
        if (day == h->day)
            h->served[slot] = s_add16(h->served[slot], n);
    }
    pthread_mutex_unlock(&t->lock);
}

void hq_trend_rebuilt(hq_trend_t *t, uint32_t num, const char *zone, int64_t last_at_ms)
{
    pthread_mutex_lock(&t->lock);
    tr_hall_t *h = s_hall(t, num, zone);
    if (h && last_at_ms > h->gap_until_ms)
        h->gap_until_ms = last_at_ms;
    pthread_mutex_unlock(&t->lock);
}

void hq_trend_sample(hq_trend_t *t, uint32_t num, const char *zone, int64_t now_ms,
                     uint32_t waiting)
{
    pthread_mutex_lock(&t->lock);
    tr_hall_t *h = s_hall(t, num, zone);
    if (!h)
        goto out;
    int32_t day;
    int slot;
    s_where(h->tz, now_ms, &day, &slot);
    if (day < h->day)
        goto out; /* the clock went back over midnight: keep the day we have */
    if (day > h->day)
        s_day_reset(h, day);
    if (slot == h->acc_slot && h->last_ms && now_ms > h->last_ms) {
        uint32_t dt = (uint32_t)(now_ms - h->last_ms);
        h->acc_wms += (uint64_t)h->last_waiting * dt;
        h->acc_ms += dt;
    } else if (slot != h->acc_slot) {
        /* A new quarter starts at its first sample (within the board's
         * second of its start); the last one ended with its last sample. */
        h->acc_slot = (int16_t)slot;
        h->acc_wms = 0;
        h->acc_ms = 0;
    }
    h->last_ms = now_ms;
    h->last_waiting = waiting > TR_U16_MAX ? TR_U16_MAX : (uint16_t)waiting;
    uint64_t tenths =
        h->acc_ms ? (h->acc_wms * 10 + h->acc_ms / 2) / h->acc_ms : (uint64_t)h->last_waiting * 10;
    h->waiting[slot] = tenths > TR_U16_MAX ? TR_U16_MAX : (uint16_t)tenths;
out:
    pthread_mutex_unlock(&t->lock);
}

/* ------------------------------------------------------------ rollups ---- */

int hq_trend_hours(MDB_txn *txn, const ru_store_t *st, uint32_t num, int32_t day,
                   uint32_t served[24], bool *any)
{
    memset(served, 0, 24 * sizeof *served);
    *any = false;
    /* The hour cells follow the hall's total and its slots in key order:
     * a cursor placed at the first of them reads 24 keys at most. */
    ru_key_t first = {.hall = num, .level = RU_LEVEL_DAY, .period = day, .dim = RU_DIM_HOUR};
    uint8_t kb[RU_KEY_MAX];
    size_t kl = ru_key_encode(&first, kb);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, st->cells, &cur) != 0)
        return HB_EDB;
    MDB_val k = {kl, kb}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), result = 0;
    while (rc == 0) {
        ru_key_t key;
        if (ru_key_decode(k.mv_data, k.mv_size, &key) != 0 || key.hall != num ||
            key.level != RU_LEVEL_DAY || key.period != day || key.dim != RU_DIM_HOUR)
            break;
        int64_t s = 0, i = 0;
        if (ru_cell_metric(v.mv_data, v.mv_size, RU_M_SERVED, &s) != 0 ||
            ru_cell_metric(v.mv_data, v.mv_size, RU_M_ISSUED, &i) != 0) {
            result = HB_EPARSE;
            break;
        }
        if (key.hour < 24 && s > 0)
            served[key.hour] += (uint32_t)s;
        if (i > 0)
            *any = true;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (result == 0 && rc != 0 && rc != MDB_NOTFOUND)
        result = HB_EDB;
    mdb_cursor_close(cur);
    return result;
}

/* Hall `h`'s typical day for `today` over `weeks`, read again when it is
 * for another day or week count, or older than HQ_TREND_TYPICAL_TTL_MS.
 * Only days on which the hall issued a ticket count (a closed day, a
 * holiday, is no typical day), as in hq_kpi_typical. */
/* Returns false when the hall has no typical day for `today` because the
 * answer's `*budget` of reads is spent (it is pending). */
static bool s_typical(tr_hall_t *h, uint32_t num, MDB_txn *txn, const ru_store_t *st, int32_t today,
                      int weeks, int64_t now_ms, size_t *budget)
{
    bool have = h->typ_day == today && h->typ_weeks == weeks;
    if (have && now_ms - h->typ_at_ms < HQ_TREND_TYPICAL_TTL_MS)
        return true;
    if (*budget == 0)
        return have; /* a stale one of today, read again by a later answer */
    (*budget)--;
    uint64_t sum[24] = {0};
    int days = 0;
    for (int k = 1; k <= weeks; k++) {
        uint32_t served[24];
        bool any;
        if (hq_trend_hours(txn, st, num, today - 7 * k, served, &any) != 0 || !any)
            continue;
        days++;
        for (int hr = 0; hr < 24; hr++)
            sum[hr] += served[hr];
    }
    for (int hr = 0; hr < 24; hr++) {
        uint64_t tenths = days ? (sum[hr] * 10 + (uint64_t)days / 2) / (uint64_t)days : 0;
        h->typ_served[hr] = tenths > TR_U16_MAX ? TR_U16_MAX : (uint16_t)tenths;
    }
    h->typ_days = (uint8_t)days;
    h->typ_day = today;
    h->typ_weeks = (uint8_t)weeks;
    h->typ_at_ms = now_ms;
    return true;
}

/* ------------------------------------------------------------ answers ---- */

/* One slot summed over the scope's halls. */
typedef struct tr_sum {
    double served, waiting, typical;
    uint32_t served_n, waiting_n, typical_n; /* halls that gave a figure */
    bool from_rollups, gap;
} tr_sum_t;

/* Adds hall `h` (a copy of its slots) to the sums: its today is its own
 * local day, each slot its own local quarter. */
static void s_add_hall(tr_sum_t *sums, const tr_hall_t *h, int32_t today, int now_slot,
                       const uint32_t *filled, bool have_filled)
{
    bool current = h->day == today;
    int gap_slot = -1;
    if (h->gap_until_ms) {
        int32_t gday;
        int gs;
        s_where(h->tz, h->gap_until_ms, &gday, &gs);
        if (gday == today)
            gap_slot = gs;
    }
    for (int i = 0; i <= now_slot && i < HQ_TREND_SLOTS; i++) {
        tr_sum_t *s = &sums[i];
        if (gap_slot >= 0 && i < gap_slot) {
            /* Before the restart: the rollups' hour, when the hour ended
             * before the gap did. */
            if (have_filled && i / 4 < gap_slot / 4) {
                s->served += filled[i / 4] / 4.0;
                s->served_n++;
                s->from_rollups = true;
            } else {
                s->gap = true;
            }
        } else {
            s->served += current ? h->served[i] : 0;
            s->served_n++;
            if (i == gap_slot)
                s->gap = true;
        }
        if (current && h->waiting[i] != TR_NONE) {
            s->waiting += h->waiting[i] / 10.0;
            s->waiting_n++;
        }
    }
    if (h->typ_days) {
        for (int i = 0; i < HQ_TREND_SLOTS; i++) {
            sums[i].typical += h->typ_served[i / 4] / 40.0;
            sums[i].typical_n++;
        }
    }
}

/* A count as an integer; a figure from the rollups' hours (quarters of an
 * hour's count) to two decimals. */
static json_t *s_num(double v, bool integer)
{
    return integer ? json_integer((json_int_t)llround(v)) : json_real(round(v * 100) / 100);
}

json_t *hq_trend_json(hq_trend_t *t, const hq_trend_query_t *q)
{
    static const char *const wdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    int weeks = q->weeks < 1 || q->weeks > HQ_TREND_WEEKS_MAX ? HQ_TREND_WEEKS_DEFAULT : q->weeks;
    tr_sum_t *sums = calloc(HQ_TREND_SLOTS, sizeof *sums);
    tr_hall_t *copy = malloc(sizeof *copy);
    json_t *zones = json_array();
    if (!sums || !copy || !zones) {
        free(sums);
        free(copy);
        json_decref(zones);
        return NULL;
    }
    MDB_txn *txn = NULL;
    if (q->rollups && ru_store_read_begin(q->rollups, &txn) != 0)
        txn = NULL;
    const hb_tz_t *zone = NULL;
    bool mixed = false;
    size_t counted = 0, with_typical = 0, pending = 0, budget = HQ_TREND_TYPICAL_READS_PER_ANSWER;
    for (size_t k = 0; k < q->n; k++) {
        uint32_t num = q->nums[k];
        pthread_mutex_lock(&t->lock);
        tr_hall_t *h = num && num < t->halls.n ? t->halls.v[num] : NULL;
        if (h)
            *copy = *h;
        pthread_mutex_unlock(&t->lock);
        if (!h)
            continue;
        counted++;
        int32_t today;
        int now_slot;
        s_where(copy->tz, q->now_ms, &today, &now_slot);
        if (!zone)
            zone = copy->tz;
        else if (copy->tz != zone)
            mixed = true;
        bool listed = false;
        for (size_t z = 0; z < json_array_size(zones); z++)
            listed = listed ||
                     strcmp(json_string_value(json_array_get(zones, z)), hb_tz_name(copy->tz)) == 0;
        if (!listed && json_array_size(zones) < TR_ZONES_LISTED)
            json_array_append_new(zones, json_string(hb_tz_name(copy->tz)));
        uint32_t filled[24];
        bool have_filled = false, any;
        if (txn) {
            /* The record's typical cache is the loop thread's: `h` itself
             * (the mirror thread never touches those fields). */
            if (!s_typical(h, num, txn, q->rollups, today, weeks, q->now_ms, &budget)) {
                pending++;
                h = NULL;
            }
            copy->typ_days = h ? h->typ_days : 0;
            if (h)
                memcpy(copy->typ_served, h->typ_served, sizeof copy->typ_served);
            if (copy->gap_until_ms &&
                hq_trend_hours(txn, q->rollups, num, today, filled, &any) == 0)
                have_filled = true;
        }
        with_typical += copy->typ_days > 0;
        s_add_hall(sums, copy, today, now_slot, filled, have_filled);
    }
    if (txn)
        ru_store_read_end(q->rollups, txn);
    if (!zone)
        zone = s_utc();
    int32_t today;
    int now_slot;
    s_where(zone, q->now_ms, &today, &now_slot);
    json_t *slots = json_array();
    for (int i = 0; i < HQ_TREND_SLOTS; i++) {
        const tr_sum_t *s = &sums[i];
        char start[6];
        snprintf(start, sizeof start, "%02d:%02d", i / 4, (i % 4) * HQ_TREND_SLOT_MIN);
        /* The slot's start as an instant, when the halls share a zone: the
         * page shows it in the viewer's zone. */
        char at[HB_RFC3339_MAX];
        hb_time_format(hb_tz_local_to_utc(zone, today, i / 4, (i % 4) * HQ_TREND_SLOT_MIN), at);
        json_array_append_new(
            slots,
            json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:s, s:b}", "slot", i, "start", start, "at",
                      mixed ? json_null() : json_string(at), "served",
                      s->served_n ? s_num(s->served, !s->from_rollups) : json_null(), "waiting",
                      s->waiting_n ? json_real(round(s->waiting * 10) / 10) : json_null(),
                      "typical_served",
                      s->typical_n ? json_real(round(s->typical * 100) / 100) : json_null(),
                      "source", s->from_rollups ? "rollups" : "mirror", "gap", s->gap));
    }
    char date[11];
    hb_date_format(today, date);
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:o, s:i, s:i, s:I, s:I, s:i, s:I, s:I, s:n, s:s, s:o}", "date", date,
        "weekday", wdays[hb_weekday(today)], "zone",
        mixed ? json_null() : json_string(hb_tz_name(zone)), "zones", zones, "slot_minutes",
        HQ_TREND_SLOT_MIN, "now_slot", now_slot, "halls", (json_int_t)q->n, "halls_counted",
        (json_int_t)counted, "weeks", weeks, "halls_with_typical", (json_int_t)with_typical,
        "halls_typical_pending", (json_int_t)pending, "typical_waiting", "typical_note",
        "the rollups count waits of called tickets, not customers waiting: there is no typical "
        "waiting figure; typical served is the hour's mean spread over its four quarters",
        "slots", slots);
    free(sums);
    free(copy);
    return o;
}
