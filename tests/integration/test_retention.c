/* The data's life at HQ, with real processes: raw events older than
 * retention_raw are pruned (from the start of a hall's stream) once rolled
 * up, while their rollups stay until
 * retention_rollups; the pass's progress, the store's size and the disk's
 * free space are in /v1/status and /metrics; and a disk below
 * disk_alert_free raises HQ's own disk_nearly_full alert. */
#include "harness.h"

#include "hallbus/codec.h"
#include "hallbus/httpc.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runner.h"

#define DAY_MS 86400000LL

typedef struct {
    char root[256];
    hbt_hq_t hq;
    hbt_hall_t hall; /* enrolled; its batches are sent by the raw link client */
    hbt_raw_t *raw;
    uint64_t next_seq;
} world_t;

static int s_setup_with(void **state, const char *const *extra, int n)
{
    world_t *w = calloc(1, sizeof *w);
    hbt_mkdtemp(w->root, sizeof w->root, "retention");
    hbt_hq_init(&w->hq, w->root);
    for (int i = 0; i < n; i++)
        snprintf(w->hq.extra[i], sizeof w->hq.extra[i], "%s", extra[i]);
    w->hq.n_extra = n;
    hbt_hq_start(&w->hq);
    hbt_hall_enroll(&w->hq, &w->hall, "Q1");
    w->raw = hbt_raw_fresh(w->hq.endpoint, w->hall.dir);
    w->next_seq = 1;
    *state = w;
    return 0;
}

static int s_setup(void **state)
{
    static const char *const extra[] = {"--retention_raw",   "30d", "--retention_rollups", "60d",
                                        "--retention_every", "1s",  "--rollup_save_every", "1s"};
    return s_setup_with(state, extra, 8);
}

/* A threshold every disk is under: 100% of a disk is never free. */
static int s_setup_disk(void **state)
{
    static const char *const extra[] = {"--disk_alert_free", "100"};
    return s_setup_with(state, extra, 2);
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hbt_raw_close(&w->raw);
    hbt_hq_stop(&w->hq, SIGTERM);
    hbt_rmdir(w->root);
    free(w);
    return 0;
}

/* `n` tickets issued at 10:00 UTC on the day `days_ago` days back, in one
 * batch of the link (stored as one chunk: chunks are pruned whole). */
static void s_post_day(world_t *w, int days_ago, int n, char date[11])
{
    int64_t at = (hb_now_ms() / DAY_MS - days_ago) * DAY_MS + 10 * 3600000LL;
    hb_date_format((int32_t)(at / DAY_MS), date);
    ProtobufCBinaryData *items = calloc((size_t)n, sizeof *items);
    for (int i = 0; i < n; i++)
        items[i].len = hbt_envelope_bytes(w->next_seq + (uint64_t)i, at + i * 1000, &items[i].data);
    Hallbus__EventBatch b = HALLBUS__EVENT_BATCH__INIT;
    b.n_events = (size_t)n;
    b.events = items;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_BATCH;
    f.batch = &b;
    assert_int_equal(hbt_raw_send_frame(w->raw, &f), 0);
    for (int i = 0; i < n; i++)
        free(items[i].data);
    free(items);
    w->next_seq += (uint64_t)n;
    Hallbus__Frame *ack = hbt_raw_expect(w->raw, HALLBUS__FRAME__KIND_ACK, 10000);
    assert_non_null(ack);
    assert_int_equal(ack->ack->committed_seq, w->next_seq - 1);
    hb_frame_free(ack);
}

static int64_t s_issued(world_t *w, const char *date)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/reports/kpi?scope=Q1&period=day&date=%s", date);
    json_t *o = hbt_get(w->hq.http, path);
    assert_non_null(o);
    int64_t n = hbt_int(o, "issued");
    json_decref(o);
    return n;
}

static size_t s_archived(world_t *w, const char *date)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/archive?hall=Q1&from=%s&to=%s", date, date);
    json_t *o = hbt_get(w->hq.http, path);
    assert_non_null(o);
    size_t n = json_array_size(json_object_get(o, "events"));
    json_decref(o);
    return n;
}

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_old_events_and_rollups_go)
{
    world_t *w = *state;
    char old[11], mid[11], recent[11];
    s_post_day(w, 100, 40, old);  /* past both retentions */
    s_post_day(w, 45, 30, mid);   /* past raw retention only */
    s_post_day(w, 1, 20, recent); /* kept */
    /* Pruned when a pass comes after the rollups saved the hall's state. */
    int64_t deadline = hbt_now_ms() + 30000;
    json_t *st = NULL, *ret = NULL;
    for (;;) {
        json_decref(st);
        st = hbt_get(w->hq.http, "/v1/status");
        assert_non_null(st);
        ret = json_object_get(st, "retention");
        if (hbt_int(ret, "events_deleted") >= 70 && hbt_int(ret, "rollup_records_deleted") > 0 &&
            hbt_int(ret, "passes") >= 1)
            break;
        if (hbt_now_ms() > deadline) {
            char *dump = json_dumps(ret, 0);
            fail_msg("nothing pruned within 30 s: %s", dump);
        }
        hbt_sleep_ms(200);
    }
    assert_int_equal(hbt_int(ret, "events_deleted"), 70);
    assert_true(hbt_int(ret, "bytes_deleted") > 0);
    assert_true(json_real_value(json_object_get(ret, "raw_days")) == 30.0);
    json_t *storage = json_object_get(st, "storage");
    assert_true(hbt_int(json_object_get(storage, "environments"), "events") > 0);
    assert_true(hbt_int(json_object_get(storage, "environments"), "rollups") > 0);
    assert_true(hbt_int(storage, "disk_free_bytes") > 0);
    json_decref(st);
    /* The raw events of both old days are gone, the recent ones are not. */
    assert_int_equal(s_archived(w, old), 0);
    assert_int_equal(s_archived(w, mid), 0);
    assert_int_equal(s_archived(w, recent), 20);
    /* The rollups: the mid day's stay, the old day's went. */
    assert_int_equal(s_issued(w, old), 0);
    assert_int_equal(s_issued(w, mid), 30);
    assert_int_equal(s_issued(w, recent), 20);
    /* The hall's stream now starts after the pruned events. */
    json_t *evs = hbt_get(w->hq.http, "/v1/halls/Q1/events?from=1&limit=1");
    assert_non_null(evs);
    json_t *first = json_array_get(json_object_get(evs, "events"), 0);
    assert_int_equal(hbt_int(first, "seq"), 71);
    json_decref(evs);
    /* /metrics says the same. */
    hb_httpc_resp_t r;
    assert_int_equal(hbt_http_raw(w->hq.http, "GET", "/metrics", NULL, &r), 0);
    char *text = strndup(r.body, r.body_len);
    hb_httpc_resp_free(&r);
    hbt_assert_contains_all(text, "hallbus_hq_retention_events_deleted_total 70",
                            "hallbus_hq_data_bytes{environment=\"rollups\"}",
                            "hallbus_hq_disk_avail_bytes", "hallbus_hq_rollup_lag_events 0", NULL);
    free(text);
}

/* HQ's own alert when its disk is nearly full. */
HBT_TEST_IN(test_disk_nearly_full, s_setup_disk, s_teardown)
{
    world_t *w = *state;
    int64_t deadline = hbt_now_ms() + 20000;
    json_t *alert = NULL, *o = NULL;
    while (!alert && hbt_now_ms() < deadline) {
        json_decref(o);
        o = hbt_get(w->hq.http, "/v1/alerts?kind=disk_nearly_full");
        assert_non_null(o);
        alert = json_array_get(json_object_get(o, "alerts"), 0);
        if (!alert)
            hbt_sleep_ms(200);
    }
    if (!alert)
        fail_msg("no disk_nearly_full alert within 20 s");
    assert_string_equal(json_string_value(json_object_get(alert, "hall")), "(hq)");
    assert_string_equal(json_string_value(json_object_get(alert, "subject")), "disk");
    assert_string_equal(json_string_value(json_object_get(alert, "unit")), "%");
    assert_int_equal(hbt_int(alert, "threshold"), 100);
    hbt_assert_contains(json_string_value(json_object_get(alert, "detail")), "refuses events");
    json_decref(o);
}
