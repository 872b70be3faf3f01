/* bench_reports: how fast hqd answers reports for a national network, and
 * what rollups cost on disk. Rolls up two months of simulated days (the
 * traffic model) of a few template halls with the rollups' own engine,
 * copies their cells to every hall of a network of N halls in cities of
 * 100 (an organisation as hqd keeps it), then times the answers of the
 * reports API's code (kpi.c) for the whole network and for a city. Prints
 * figures; asserts nothing. Runs in-process on a scratch folder: no hqd. */
#include "benchcli.h"
#include "control.h"
#include "halls.h"
#include "hqstore.h"
#include "kpi.h"
#include "ruengine.h"
#include "rustore.h"

#include "hallbus/codec.h"
#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "sim.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct settings {
    int64_t halls, templates, repeat;
} settings_t;

#define ROW(...) HB_CONF_OPT(settings_t, __VA_ARGS__)

static const hb_config_def_t s_options[] = {
    ROW("halls", HB_CONF_INT, halls, "10000", 100, 200000, "N", "halls of the network"),
    ROW("templates", HB_CONF_INT, templates, "16", 1, 1000, "T",
        "halls whose simulated days are rolled up (the others copy them)"),
    ROW("repeat", HB_CONF_INT, repeat, "7", 1, 1000, "R", "times each query is timed"),
};

static const bench_cli_t s_cli =
    BENCH_CLI(s_options, "bench_reports", "[--halls N] [--templates T] [--repeat R]",
              "how fast the reports of a network of N halls are answered, and the rollups' "
              "bytes per hall and day");

#define CITY 100 /* halls per city */
#define TEMPLATE_BASE 1
#define HALL_BASE 100000 /* the network's hall numbers start here */

static double s_ms(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

/* October and November 2026 of each template hall, through the engine. */
static uint64_t s_roll_templates(ru_engine_t *e, int templates, int32_t first, int32_t last)
{
    uint64_t events = 0;
    for (int t = 0; t < templates; t++) {
        uint32_t hall = TEMPLATE_BASE + (uint32_t)t;
        uint64_t seq = 0;
        for (int32_t d = first; d <= last; d++) {
            hb_sim_hall_t *sim = hb_sim_hall_new(2026, t, (int64_t)d * 86400000 + 9 * 3600000);
            for (;;) {
                int64_t at;
                json_t *j = NULL;
                if (hb_sim_next(sim, &at, &j) != 0)
                    break;
                Hallbus__Envelope *env = NULL;
                char err[256];
                if (hb_event_from_json(j, 0, INT64_MAX / 2, &env, err, sizeof err) == 0) {
                    env->seq = ++seq;
                    uint8_t *bytes;
                    size_t len;
                    bool skipped;
                    if (hb_envelope_pack(env, &bytes, &len) == 0) {
                        ru_engine_apply(e, hall, seq, bytes, len, &skipped);
                        free(bytes);
                        events++;
                    }
                    hb_envelope_free(env);
                }
                json_decref(j);
                if (ru_engine_full(e))
                    ru_engine_commit(e, hb_now_ms(), false);
            }
            hb_sim_hall_destroy(&sim);
        }
    }
    ru_engine_commit(e, hb_now_ms(), true);
    return events;
}

/* The bytes of every record of the template halls (keys and values). */
static uint64_t s_template_bytes(ru_store_t *st, int templates, uint64_t *cells)
{
    MDB_txn *txn;
    uint64_t bytes = 0;
    *cells = 0;
    if (ru_store_read_begin(st, &txn) != 0)
        return 0;
    MDB_dbi dbis[] = {st->cells, st->days, st->heads, st->folds};
    for (size_t i = 0; i < 4; i++) {
        MDB_cursor *cur;
        mdb_cursor_open(txn, dbis[i], &cur);
        MDB_val k, v;
        int g = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (g == 0) {
            if (hb_get_be32(k.mv_data) < TEMPLATE_BASE + (uint32_t)templates) {
                bytes += k.mv_size + v.mv_size;
                *cells += i == 0;
            }
            g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    ru_store_read_end(st, txn);
    return bytes;
}

/* Copies the template's cells of one level (and of days from `from` to
 * `to`, or months) to `hall`, in the open transaction. */
static int s_copy(ru_store_t *st, MDB_txn *txn, uint32_t tmpl, uint32_t hall, int level)
{
    uint8_t prefix[5];
    hb_put_be32(prefix, tmpl);
    prefix[4] = (uint8_t)level;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, st->cells, &cur) != 0)
        return HB_EDB;
    MDB_val k = {5, prefix}, v;
    int g = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), rc = 0;
    /* Read from the template's range, written to the hall's (a range of
     * its own, later in the key order): collect first, then put. */
    static uint8_t keys[200000][RU_KEY_MAX];
    static size_t klen[200000];
    static uint8_t *vals[200000];
    static size_t vlen[200000];
    size_t n = 0;
    while (g == 0 && k.mv_size > 5 && memcmp(k.mv_data, prefix, 5) == 0 && n < 200000) {
        memcpy(keys[n], k.mv_data, k.mv_size);
        hb_put_be32(keys[n], hall);
        klen[n] = k.mv_size;
        vals[n] = malloc(v.mv_size);
        memcpy(vals[n], v.mv_data, v.mv_size);
        vlen[n++] = v.mv_size;
        g = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++) {
        MDB_val kk = {klen[i], keys[i]}, vv = {vlen[i], vals[i]};
        if (rc == 0)
            rc = mdb_put(txn, st->cells, &kk, &vv, MDB_APPEND);
        free(vals[i]);
    }
    return rc;
}

typedef struct timing {
    double first, min, median; /* wall clock */
    double cpu_median;         /* this thread's CPU time: what an idle machine would see */
    size_t bytes;
    long long served; /* the answer's, to show it is not empty */
} timing_t;

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static timing_t s_time(const hq_kpi_ctx_t *ctx, const hq_kpi_query_t *q, int repeat)
{
    timing_t t = {0};
    double ms[1000], cpu[1000];
    for (int i = 0; i < repeat; i++) {
        struct timespec a, b, ca, cb;
        json_t *out = NULL;
        char err[256];
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rc = hq_kpi_report(ctx, q, &out, err, sizeof err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
        cpu[i] = s_ms(ca, cb);
        if (rc != 0)
            fprintf(stderr, "bench_reports: %s\n", err);
        if (out && i == 0) {
            char *text = json_dumps(out, JSON_COMPACT);
            t.bytes = text ? strlen(text) : 0;
            free(text);
            t.served = (long long)json_integer_value(json_object_get(out, "served"));
        }
        json_decref(out);
        ms[i] = s_ms(a, b);
    }
    t.first = ms[0];
    qsort(ms, (size_t)repeat, sizeof ms[0], s_cmp_double);
    qsort(cpu, (size_t)repeat, sizeof cpu[0], s_cmp_double);
    t.cpu_median = cpu[repeat / 2];
    t.min = ms[0];
    t.median = ms[repeat / 2];
    return t;
}

int main(int argc, char **argv)
{
    static settings_t set;
    int rc = bench_cli_read(&s_cli, &set, argc, argv);
    if (rc >= 0)
        return rc;
    hb_log_init("bench_reports", HB_LOG_WARN);
    int halls = (int)set.halls, templates = (int)set.templates, repeat = (int)set.repeat;
    char root[64], dir[128];
    snprintf(root, sizeof root, "/tmp/hb-bench-reports-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    hq_store_t events;
    ru_store_t st;
    snprintf(dir, sizeof dir, "%s/events", root);
    if (hq_store_open(&events, dir, 1u << 24, 1u << 30) != 0)
        return 1;
    snprintf(dir, sizeof dir, "%s/rollups", root);
    if (ru_store_open(&st, dir, 1u << 30, (size_t)1 << 40) != 0)
        return 1;
    int32_t oct1 = hb_days_from_civil(2026, 10, 1), nov30 = hb_days_from_civil(2026, 11, 30);
    int days = nov30 - oct1 + 1;

    /* 1. The templates' two months, rolled up. */
    ru_engine_config_t ecfg = {.events = &events,
                               .store = &st,
                               .snapshot_events = 1u << 30,
                               .snapshot_ms = INT64_MAX / 2,
                               .max_cells = 200000};
    ru_engine_t *e = ru_engine_new(&ecfg);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t n_events = s_roll_templates(e, templates, oct1, nov30);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ru_engine_destroy(&e);
    double roll_ms = s_ms(a, b);
    printf(
        "bench_reports: %d template halls x %d simulated days = %llu events rolled up in %.0f ms "
        "(%.0f events/s on one thread, the simulator's own work included)\n",
        templates, days, (unsigned long long)n_events, roll_ms,
        (double)n_events / roll_ms * 1000.0);
    uint64_t cells;
    uint64_t tbytes = s_template_bytes(&st, templates, &cells);
    uint64_t file_before = hb_store_size(&st.store);
    printf("rollups on disk: %llu record bytes per hall per day (%.0f cells per hall-day: day "
           "and month cells, day index, state); the LMDB file holds %llu bytes per hall per "
           "day\n",
           (unsigned long long)(tbytes / ((uint64_t)templates * (uint64_t)days)),
           (double)cells / ((double)templates * days),
           (unsigned long long)(file_before / ((uint64_t)templates * (uint64_t)days)));
    fflush(stdout);

    /* 2. The network: every hall a copy of a template, month cells for
     * all, day cells for the first city (the day-of-a-city query). */
    clock_gettime(CLOCK_MONOTONIC, &a);
    MDB_txn *txn;
    for (int h = 0; h < halls; h++) {
        if (h % 500 == 0) {
            if (h && mdb_txn_commit(txn) != 0)
                return 1;
            if (mdb_txn_begin(st.store.env, NULL, 0, &txn) != 0)
                return 1;
        }
        uint32_t tmpl = TEMPLATE_BASE + (uint32_t)(h % templates), num = HALL_BASE + (uint32_t)h;
        /* Day cells sort before month cells: appended in key order. */
        int crc = h < CITY ? s_copy(&st, txn, tmpl, num, RU_LEVEL_DAY) : 0;
        if (crc == 0)
            crc = s_copy(&st, txn, tmpl, num, RU_LEVEL_MONTH);
        if (crc != 0) {
            fprintf(stderr, "bench_reports: cannot copy cells (%s); a larger map?\n",
                    mdb_strerror(crc));
            return 1;
        }
    }
    if (mdb_txn_commit(txn) != 0)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("network: %d halls in %d cities of %d, made in %.0f ms; the rollups file is %.0f MB\n",
           halls, (halls + CITY - 1) / CITY, CITY, s_ms(a, b),
           (double)hb_store_size(&st.store) / 1e6);

    /* The organisation and the hall registry, as hqd keeps them. */
    json_t *regions = json_array(), *hall_list = json_array();
    json_array_append_new(
        regions, json_pack("{s:s, s:s, s:s}", "id", "CN", "name", "national", "level", "national"));
    int n_cities = (halls + CITY - 1) / CITY;
    for (int p = 0; p < (n_cities + 9) / 10; p++) {
        char pid[16];
        snprintf(pid, sizeof pid, "P%02d", p);
        json_array_append_new(regions, json_pack("{s:s, s:s, s:s, s:s}", "id", pid, "name", pid,
                                                 "level", "province", "parent", "CN"));
    }
    hq_halls_t *registry = hq_halls_new();
    for (int c = 0; c < n_cities; c++) {
        char cid[16], pid[16];
        snprintf(cid, sizeof cid, "C%03d", c);
        snprintf(pid, sizeof pid, "P%02d", c / 10);
        json_array_append_new(regions, json_pack("{s:s, s:s, s:s, s:s}", "id", cid, "name", cid,
                                                 "level", "city", "parent", pid));
    }
    for (int h = 0; h < halls; h++) {
        hq_hall_record_t rec = {.num = HALL_BASE + (uint32_t)h};
        snprintf(rec.id, sizeof rec.id, "H%05d", h);
        char cid[16];
        snprintf(cid, sizeof cid, "C%03d", h / CITY);
        json_array_append_new(hall_list, json_pack("{s:s, s:s}", "id", rec.id, "city", cid));
        hq_halls_load(registry, &rec);
    }
    json_t *org = json_pack("{s:o, s:o}", "regions", regions, "halls", hall_list);
    hq_control_t *ctl = NULL;
    char err[512];
    snprintf(dir, sizeof dir, "%s/control", root);
    if (hq_control_open(dir, &ctl, err, sizeof err) != 0 ||
        hq_control_set_org(ctl, org, err, sizeof err) != 0) {
        fprintf(stderr, "bench_reports: %s\n", err);
        return 1;
    }
    json_decref(org);

    /* 3. The queries. */
    hq_kpi_ctx_t ctx = {.ctl = ctl, .halls = registry, .store = &st, .now_ms = hb_now_ms()};
    int32_t nov = hb_days_from_civil(2026, 11, 1), day = hb_days_from_civil(2026, 11, 18);
    struct {
        const char *what, *scope;
        int period, by;
        int32_t date;
        bool previous;
        double budget_ms;
    } queries[] = {
        {"a month of the whole network", "CN", HQ_KPI_MONTH, HQ_KPI_BY_NONE, nov, false, 200},
        {"... with the previous month beside it", "CN", HQ_KPI_MONTH, HQ_KPI_BY_NONE, nov, true, 0},
        {"... by hall (every hall's row)", "CN", HQ_KPI_MONTH, HQ_KPI_BY_HALL, nov, false, 0},
        {"a day of a city (100 halls)", "C000", HQ_KPI_DAY, HQ_KPI_BY_NONE, day, false, 20},
        {"... with the previous day beside it", "C000", HQ_KPI_DAY, HQ_KPI_BY_NONE, day, true, 0},
        {"... by hour", "C000", HQ_KPI_DAY, HQ_KPI_BY_HOUR, day, false, 0},
        {"a month of a hall, by day", "H00000", HQ_KPI_MONTH, HQ_KPI_BY_DAY, nov, true, 0},
        {"a month of a province, by service", "P00", HQ_KPI_MONTH, HQ_KPI_BY_SERVICE, nov, false,
         0},
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        hq_kpi_query_t q = {
            .period = queries[i].period, .by = queries[i].by, .previous = queries[i].previous};
        snprintf(q.scope, sizeof q.scope, "%s", queries[i].scope);
        hq_kpi_period_days(q.period, queries[i].date, &q.from, &q.to);
        timing_t t = s_time(&ctx, &q, repeat);
        printf("%-38s first %6.1f, min %6.1f, median %6.1f ms; CPU %6.1f ms; %zu bytes, "
               "served %lld%s\n",
               queries[i].what, t.first, t.min, t.median, t.cpu_median, t.bytes, t.served,
               queries[i].budget_ms > 0 ? (t.min <= queries[i].budget_ms ? "  [within its budget]"
                                                                         : "  [OVER its budget]")
                                        : "");
    }
    /* A ranking of the network's halls. */
    hq_kpi_query_t q = {.period = HQ_KPI_MONTH};
    snprintf(q.scope, sizeof q.scope, "CN");
    hq_kpi_period_days(q.period, nov, &q.from, &q.to);
    clock_gettime(CLOCK_MONOTONIC, &a);
    json_t *out = NULL;
    hq_kpi_rank(&ctx, &q, "wait_p90_s", 10, &out, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%-38s %6.1f ms\n", "a ranking of the network's halls", s_ms(a, b));
    json_decref(out);

    hq_control_close(&ctl);
    hq_halls_destroy(&registry);
    ru_store_close(&st);
    hq_store_close(&events);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_reports: could not remove %s\n", root);
    bench_cli_free(&s_cli, &set);
    return 0;
}
