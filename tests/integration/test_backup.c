/* One consistent backup of HQ taken while it runs, with real processes:
 * two halls deliver simulated October days, then keep posting events while
 * `hqd backup` copies every LMDB environment and the keys. A fresh hqd
 * started on the copy (the restore) holds, for every hall, a prefix of the
 * stream the running hqd holds: the same bytes up to its last_seq and the
 * stream_digest of exactly those bytes; its rollups catch up from its own
 * store; October's KPIs (delivered before the copy) equal the running
 * hqd's for every hall and region; its organisation and policies are the
 * same. And the refusals: a folder that is not hqd's, a target that
 * exists. */
#include "world.h"

#include "hqstore.h"
#include "hallbus/digest.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/tz.h"
#include "sim.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"

#define HALLS 2

#define POLICY HBT_POLICY_OPEN_IN("Asia/Shanghai")

static const hbt_world_spec_t s_world = {.tag = "backup", .halls = {"K1", "K2"}};

/* The hqd started on the copy (the restore), stopped with the world. */
static hbt_hq_t s_restored;

/* The organisation and the policy before the halls start, so that they
 * run it. */
static int s_setup(void **state)
{
    hbt_world_setup(state);
    hbt_world_t *w = *state;
    hbt_publish(w->hq.http,
                "{\"regions\":[{\"id\":\"CN\",\"name\":\"全国\",\"level\":\"national\"},"
                "{\"id\":\"P1\",\"name\":\"East\",\"level\":\"province\",\"parent\":\"CN\"},"
                "{\"id\":\"C1\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P1\"}],"
                "\"halls\":[{\"id\":\"K1\",\"city\":\"C1\"},{\"id\":\"K2\",\"city\":\"C1\"}]}",
                POLICY);
    hbt_world_start_halls(w, POLICY);
    return 0;
}

static int s_teardown(void **state)
{
    if (s_restored.proc.pid)
        hbt_hq_stop(&s_restored, SIGTERM);
    return hbt_world_teardown(state);
}

#define HBT_FIXTURE s_setup, s_teardown, &s_world

/* Simulated October days of each hall. */
static void s_october(hbt_world_t *w)
{
    const hb_tz_t *tz = NULL;
    assert_int_equal(hb_tz_get("Asia/Shanghai", &tz, NULL, 0), 0);
    for (int d = 0; d < 2; d++) {
        int32_t day;
        assert_int_equal(hb_date_parse(d ? "2026-10-13" : "2026-10-12", &day), 0);
        for (int i = 0; i < HALLS; i++) {
            hb_sim_hall_t *sim = hb_sim_hall_new(7, i, hb_tz_local_to_utc(tz, day, 9, 0));
            json_t *batch = json_array();
            for (;;) {
                int64_t t;
                json_t *ev = NULL;
                if (hb_sim_next(sim, &t, &ev) != 0)
                    break;
                json_array_append_new(batch, ev);
                if (json_array_size(batch) == 500) {
                    hbt_hall_post_json(&w->hall[i], json_incref(batch));
                    json_array_clear(batch);
                }
            }
            if (json_array_size(batch))
                hbt_hall_post_json(&w->hall[i], json_incref(batch));
            json_decref(batch);
            hb_sim_hall_destroy(&sim);
        }
    }
}

/* Today's traffic: tickets, as fast as the halls take them. */
static void s_load(hbt_world_t *w, int round)
{
    char now[HB_RFC3339_MAX];
    hb_time_format(hb_now_ms(), now);
    for (int i = 0; i < HALLS; i++) {
        json_t *batch = json_array();
        for (int k = 0; k < 200; k++) {
            char ticket[16];
            snprintf(ticket, sizeof ticket, "L%d", (round * 200 + k) % 999);
            json_array_append_new(batch, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
                                                   "ticket_issued", "at", now, "ticket", ticket,
                                                   "service", "A", "priority", "normal"));
        }
        hbt_hall_post_json(&w->hall[i], batch);
    }
}

static void s_wait_rolled(hbt_hq_t *hq)
{
    hbt_wait_rolled_up_query(hq->http, "scope=CN&period=month&date=2026-10-01", 60000);
}

typedef struct stream {
    hb_digest_t digest;
    uint64_t n;
    uint8_t **ev;
    size_t *len;
    size_t cap;
} stream_t;

static int s_take(uint64_t seq, const uint8_t *data, size_t len, void *arg)
{
    stream_t *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
        s->len = realloc(s->len, s->cap * sizeof *s->len);
    }
    assert_int_equal(seq, s->n + 1);
    s->ev[s->n] = malloc(len);
    memcpy(s->ev[s->n], data, len);
    s->len[s->n++] = len;
    hb_digest_step(&s->digest, data, len);
    return 0;
}

/* A hall's stored stream 1..upto, read from an event store's files (the
 * running hqd's too: LMDB lets other processes read). */
static void s_stream(const char *dir, uint32_t num, uint64_t upto, stream_t *s)
{
    memset(s, 0, sizeof *s);
    hb_digest_init(&s->digest);
    hq_store_t st;
    assert_int_equal(hq_store_open(&st, dir, 1u << 30, (size_t)1 << 40), 0);
    assert_int_equal(hq_store_read_events(&st, num, 1, (size_t)upto, s_take, s), 0);
    hq_store_close(&st);
    assert_int_equal(s->n, upto);
}

static void s_stream_free(stream_t *s)
{
    for (uint64_t i = 0; i < s->n; i++)
        free(s->ev[i]);
    free(s->ev);
    free(s->len);
}

typedef struct find {
    const char *id;
    uint32_t num;
} find_t;

static void s_find(const hq_hall_record_t *rec, void *arg)
{
    find_t *f = arg;
    if (strcmp(rec->id, f->id) == 0)
        f->num = rec->num;
}

/* The hall's number in an event store. */
static uint32_t s_num(const char *dir, const char *id)
{
    hq_store_t st;
    find_t f = {.id = id};
    uint32_t next;
    assert_int_equal(hq_store_open(&st, dir, 1u << 30, (size_t)1 << 40), 0);
    assert_int_equal(hq_store_load_halls(&st, s_find, &f, &next), 0);
    hq_store_close(&st);
    assert_true(f.num > 0);
    return f.num;
}

/* Runs `hqd backup` while the halls keep posting; returns its exit code. */
static int s_backup_under_load(hbt_world_t *w, const char *out, int *rounds)
{
    char keys[300];
    snprintf(keys, sizeof keys, "%s", w->hq.keys);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char log[512];
        snprintf(log, sizeof log, "%s/backup.log", w->root);
        FILE *f = freopen(log, "a", stdout);
        (void)f;
        execl(HB_BIN_DIR "/hqd/hqd", "hqd", "backup", "--data", w->hq.data, "--out", out, "--keys",
              keys, "--compact", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    *rounds = 0;
    for (;;) {
        s_load(w, (*rounds)++);
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

HBT_TEST(test_backup_under_load_restores)
{
    hbt_world_t *w = *state;
    s_october(w);
    for (int i = 0; i < HALLS; i++)
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 60000));
    s_wait_rolled(&w->hq);
    /* Some of today's load first, so that there is a stream to copy while
     * it grows. */
    for (int r = 0; r < 20; r++)
        s_load(w, 1000 + r);
    char out[280];
    snprintf(out, sizeof out, "%s/copy", w->root);
    int rounds = 0;
    int64_t t0 = hbt_now_ms();
    int rc = s_backup_under_load(w, out, &rounds);
    fprintf(stderr, "backup took %lld ms while the halls posted %d round(s) of 400 events\n",
            (long long)(hbt_now_ms() - t0), rounds);
    assert_int_equal(rc, 0);
    struct stat st;
    char path[400];
    static const char *const envs[] = {
        "data.mdb",         "control/data.mdb", "live/data.mdb",      "alerts/data.mdb",
        "rollups/data.mdb", "keys/hq.key",      "keys/hq.key_secret", "BACKUP"};
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", out, envs[i]);
        if (stat(path, &st) != 0)
            fail_msg("the copy lacks %s", envs[i]);
    }
    snprintf(path, sizeof path, "%s/keys/hq.key_secret", out);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0); /* the secret stays private */
    /* The load stops; the running hqd gets everything. */
    for (int i = 0; i < HALLS; i++)
        assert_true(hbt_wait_synced(&w->hq, &w->hall[i], 60000));

    /* The restore: a fresh hqd on the copy. */
    hbt_hq_init(&s_restored, w->root);
    snprintf(s_restored.data, sizeof s_restored.data, "%s", out);
    snprintf(s_restored.keys, sizeof s_restored.keys, "%s/keys", out);
    hbt_hq_start(&s_restored);
    s_wait_rolled(&s_restored);
    for (int i = 0; i < HALLS; i++) {
        char hp[64];
        snprintf(hp, sizeof hp, "/v1/halls/%s", w->hall[i].id);
        json_t *mine = hbt_get(w->hq.http, hp), *copy = hbt_get(s_restored.http, hp);
        assert_non_null(mine);
        assert_non_null(copy);
        int64_t last = hbt_int(copy, "last_seq"), total = hbt_int(mine, "last_seq");
        assert_true(last > 0 && last <= total);
        /* The copy's stream is the running one's up to its end, byte for
         * byte, and its digest is the digest of exactly that. */
        uint32_t num = s_num(out, w->hall[i].id);
        stream_t a, b;
        s_stream(w->hq.data, num, (uint64_t)last, &a);
        s_stream(out, num, (uint64_t)last, &b);
        for (uint64_t e = 0; e < a.n; e++) {
            assert_int_equal(a.len[e], b.len[e]);
            assert_memory_equal(a.ev[e], b.ev[e], a.len[e]);
        }
        char hex[HB_DIGEST_HEX];
        hb_digest_hex(&a.digest, hex);
        assert_string_equal(json_string_value(json_object_get(copy, "stream_digest")), hex);
        assert_int_equal(hbt_int(copy, "events"), last);
        if (last == total)
            assert_string_equal(json_string_value(json_object_get(copy, "stream_digest")),
                                json_string_value(json_object_get(mine, "stream_digest")));
        fprintf(stderr, "hall %s: the copy holds %lld of %lld events, the same bytes and digest\n",
                w->hall[i].id, (long long)last, (long long)total);
        s_stream_free(&a);
        s_stream_free(&b);
        json_decref(mine);
        json_decref(copy);
    }
    /* October, delivered before the copy: every figure of every scope. */
    static const char *const scopes[] = {"K1", "K2", "C1", "P1", "CN"};
    for (size_t s = 0; s < sizeof scopes / sizeof scopes[0]; s++) {
        char q[200];
        snprintf(q, sizeof q, "/v1/reports/kpi?scope=%s&period=month&date=2026-10-01&by=day",
                 scopes[s]);
        json_t *mine = hbt_get(w->hq.http, q), *copy = hbt_get(s_restored.http, q);
        assert_non_null(mine);
        assert_non_null(copy);
        assert_true(hbt_int(mine, "issued") > 100);
        /* Finality and revisions are about when things were counted. */
        static const char *const when[] = {"final", "final_at", "revised_at", "revisions",
                                           "rolled_up"};
        for (size_t k = 0; k < sizeof when / sizeof when[0]; k++) {
            json_object_del(mine, when[k]);
            json_object_del(copy, when[k]);
        }
        if (!json_equal(mine, copy)) {
            char *a = json_dumps(mine, JSON_SORT_KEYS), *b = json_dumps(copy, JSON_SORT_KEYS);
            fail_msg("%s: October differs after the restore:\n%.1500s\n%.1500s", scopes[s], a, b);
        }
        json_decref(mine);
        json_decref(copy);
    }
    /* The control plane came along. */
    json_t *a = hbt_get(w->hq.http, "/v1/org"), *b = hbt_get(s_restored.http, "/v1/org");
    assert_true(a && b && json_equal(a, b));
    json_decref(a);
    json_decref(b);
    a = hbt_get(s_restored.http, "/v1/policies");
    assert_int_equal(hbt_int(a, "version"), 1);
    json_decref(a);

    /* Refusals: a target that exists, a folder that is not hqd's. */
    char log[4096];
    assert_int_equal(hbt_run_args(log, sizeof log, HB_BIN_DIR "/hqd/hqd", "backup", "--data",
                                  w->hq.data, "--out", out, NULL),
                     1);
    hbt_assert_contains(log, "exists");
    char nothing[300], out2[300];
    snprintf(nothing, sizeof nothing, "%s/empty", w->root);
    snprintf(out2, sizeof out2, "%s/copy2", w->root);
    mkdir(nothing, 0750);
    assert_int_equal(hbt_run_args(log, sizeof log, HB_BIN_DIR "/hqd/hqd", "backup", "--data",
                                  nothing, "--out", out2, NULL),
                     1);
    hbt_assert_contains(log, "no event store");
    assert_int_equal(
        hbt_run_args(log, sizeof log, HB_BIN_DIR "/hqd/hqd", "backup", "--data", w->hq.data, NULL),
        2);
}
