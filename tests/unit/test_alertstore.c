/* Unit tests of the alert store (hqd/alerts/alertstore.c) on real LMDB folders:
 * raises and clears written with their times and ids, the latest value in
 * memory and the peak kept; a reopen, and a child process killed with
 * SIGKILL between batches or in the middle of them, giving exactly the open
 * alerts of the last commit; batches reported only after their commit,
 * aborted or failed batches leaving memory as the disk is; a map that
 * grows, and one that cannot; history newest first in pages, by hall, kind
 * and time; retention by age and by count that never touches open alerts;
 * every bound and refusal; and, printed, the time of a pass over 10,000
 * halls in one batch. */
#include "alertstore.h"

#include "hallbus/error.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "runner.h"

#define SEC 1000LL
#define T0 1796000000000LL

typedef struct {
    char dir[HBT_FIXTURE_DIR];
    char dir2[256];
    alertstore_t *st;
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = hbt_fixture_new(sizeof *f, "test-alertstore");
    hbt_mkdtemp(f->dir2, sizeof f->dir2, "test-alertstore2");
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    alertstore_close(&f->st);
    hbt_rmdir(f->dir2);
    hbt_fixture_free(f);
    return 0;
}

static alertstore_t *s_open(const char *dir, const alertstore_config_t *cfg)
{
    alertstore_t *st = NULL;
    char err[256];
    int rc = alertstore_open(dir, cfg, &st, err, sizeof err);
    if (rc != 0)
        fail_msg("alertstore_open: %s (%s)", err, hb_strerror(rc));
    return st;
}

static int s_cmp_alert(const void *a, const void *b) { return alert_key_cmp(a, b); }

/* Adds a condition; s_sort puts the set in key order afterwards. */
static void s_add(alert_set_t *set, int kind, const char *subject, int64_t value, int64_t threshold)
{
    assert_true(set->n < ALERTS_MAX);
    alert_t *a = &set->alerts[set->n++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    snprintf(a->subject, sizeof a->subject, "%s", subject);
    snprintf(a->detail, sizeof a->detail, "%s %s at %lld", alert_kind_name(kind), subject,
             (long long)value);
    a->value = value;
    a->threshold = threshold;
    a->since_ms = T0;
}

static void s_sort(alert_set_t *set)
{
    qsort(set->alerts, set->n, sizeof set->alerts[0], s_cmp_alert);
}

/* ----------------------------------------------------- open alerts list ---- */

typedef struct {
    alert_record_t *recs;
    size_t n, cap;
} list_t;

static int s_collect(const alert_record_t *r, void *arg)
{
    list_t *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->recs = realloc(l->recs, l->cap * sizeof *l->recs);
        assert_non_null(l->recs);
    }
    l->recs[l->n++] = *r;
    return 0;
}

static list_t s_open_list(alertstore_t *st, const alertstore_filter_t *f)
{
    list_t l = {0};
    assert_int_equal(alertstore_open_each(st, f, s_collect, &l), 0);
    return l;
}

/* The identity of open alerts: everything but what memory refreshes. */
static void s_assert_same_open(alertstore_t *a, alertstore_t *b)
{
    list_t la = s_open_list(a, NULL), lb = s_open_list(b, NULL);
    if (la.n != lb.n)
        fail_msg("%zu open alerts against %zu", la.n, lb.n);
    for (size_t i = 0; i < la.n; i++) {
        const alert_record_t *x = &la.recs[i], *y = &lb.recs[i];
        if (x->id != y->id || x->hall_num != y->hall_num || strcmp(x->hall, y->hall) != 0 ||
            x->alert.kind != y->alert.kind || strcmp(x->alert.subject, y->alert.subject) != 0 ||
            x->raised_ms != y->raised_ms || x->alert.since_ms != y->alert.since_ms ||
            x->cleared_ms != 0 || y->cleared_ms != 0)
            fail_msg("open alert %zu differs: %llu %s %s %s against %llu %s %s %s", i,
                     (unsigned long long)x->id, x->hall, alert_kind_name(x->alert.kind),
                     x->alert.subject, (unsigned long long)y->id, y->hall,
                     alert_kind_name(y->alert.kind), y->alert.subject);
    }
    free(la.recs);
    free(lb.recs);
}

/* ------------------------------------------------------ raise, clear ---- */

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_raise_and_clear_persisted)
{
    fixture_t *f = *state;
    f->st = s_open(f->dir, NULL);
    alert_set_t set = {0};
    alert_changes_t ch;
    s_add(&set, ALERT_WAIT_SLA, "A:normal", 700, 600);
    assert_int_equal(alertstore_apply(f->st, 1, "H001", &set, T0, &ch), 0);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.items[0].type, ALERT_CHANGE_RAISED);
    assert_int_equal(ch.items[0].rec.id, 1);
    assert_int_equal(ch.items[0].rec.raised_ms, T0);
    assert_string_equal(ch.items[0].rec.hall, "H001");
    /* Still holding, with a larger value: no change, the value follows. */
    set.alerts[0].value = 800;
    assert_int_equal(alertstore_apply(f->st, 1, "H001", &set, T0 + SEC, &ch), 0);
    assert_int_equal(ch.n, 0);
    set.alerts[0].value = 750;
    assert_int_equal(alertstore_apply(f->st, 1, "H001", &set, T0 + 2 * SEC, &ch), 0);
    list_t l = s_open_list(f->st, NULL);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.recs[0].alert.value, 750);
    assert_int_equal(l.recs[0].peak, 800);
    free(l.recs);
    /* On disk it is as raised until it clears. */
    alert_record_t r;
    assert_int_equal(alertstore_get(f->st, 1, &r), 0);
    assert_int_equal(r.alert.value, 700);
    assert_int_equal(r.cleared_ms, 0);
    /* Gone: cleared once, with its peak and the last value. */
    set.n = 0;
    assert_int_equal(alertstore_apply(f->st, 1, "H001", &set, T0 + 3 * SEC, &ch), 0);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.items[0].type, ALERT_CHANGE_CLEARED);
    assert_int_equal(ch.items[0].rec.cleared_ms, T0 + 3 * SEC);
    assert_int_equal(alertstore_apply(f->st, 1, "H001", &set, T0 + 4 * SEC, &ch), 0);
    assert_int_equal(ch.n, 0);
    assert_int_equal(alertstore_get(f->st, 1, &r), 0);
    assert_int_equal(r.raised_ms, T0);
    assert_int_equal(r.cleared_ms, T0 + 3 * SEC);
    assert_int_equal(r.peak, 800);
    assert_int_equal(r.alert.value, 750);
    assert_string_equal(r.alert.subject, "A:normal");
    assert_int_equal(alertstore_open_count(f->st, NULL), 0);
    /* Raised again: a new alert with the next id. */
    s_add(&set, ALERT_WAIT_SLA, "A:normal", 601, 600);
    assert_int_equal(alertstore_apply(f->st, 1, "H001", &set, T0 + 5 * SEC, &ch), 0);
    assert_int_equal(ch.items[0].rec.id, 2);
    assert_int_equal(alertstore_get(f->st, 3, &r), HB_ENOTFOUND);
    alertstore_stats_t stats;
    alertstore_get_stats(f->st, &stats);
    assert_int_equal(stats.open, 1);
    assert_int_equal(stats.open_by_kind[ALERT_WAIT_SLA], 1);
    assert_int_equal(stats.halls_alerting, 1);
    assert_int_equal(stats.records, 2);
    assert_int_equal(stats.raised, 2);
    assert_int_equal(stats.cleared, 1);
    /* JSON of one record. */
    json_t *j = NULL;
    assert_int_equal(alertstore_open_json(f->st, NULL, 10, &j), 0);
    json_t *a = json_array_get(json_object_get(j, "alerts"), 0);
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "kind")), "wait_sla");
    assert_string_equal(json_string_value(json_object_get(a, "subject")), "A:normal");
    assert_string_equal(json_string_value(json_object_get(a, "hall")), "H001");
    assert_string_equal(json_string_value(json_object_get(a, "unit")), "s");
    assert_int_equal(json_integer_value(json_object_get(a, "id")), 2);
    assert_int_equal(json_integer_value(json_object_get(a, "threshold")), 600);
    assert_true(json_is_null(json_object_get(a, "cleared")));
    assert_true(json_is_true(json_object_get(a, "open")));
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
    json_decref(j);
}

/* --------------------------------------------------------- restarts ---- */

/* The set of hall `h` after batch `k`: keys come and go from batch to
 * batch, so each batch raises some and clears some. */
static void s_scripted_set(int k, uint32_t h, alert_set_t *set)
{
    set->n = 0;
    set->dropped = 0;
    if ((k + (int)h) % 3 != 0)
        s_add(set, ALERT_WAIT_SLA, "A:normal", k * 10 + (int)h, 600);
    if ((k * (int)h) % 5 < 2)
        s_add(set, ALERT_DIVERSION, "A", 30 + k, 25);
    if (h % 4 == 0) {
        char id[16];
        snprintf(id, sizeof id, "K%d", k / 4);
        s_add(set, ALERT_COMPLAINT_ACK_OVERDUE, id, k, 14400);
    }
    if (h == 7 && k % 2)
        s_add(set, ALERT_HALL_OFFLINE, "", 200, 120);
    s_sort(set);
}

#define SCRIPT_HALLS 50

static int s_scripted_batch(alertstore_t *st, int k)
{
    int rc = alertstore_batch_begin(st);
    for (uint32_t h = 1; h <= SCRIPT_HALLS && rc == 0; h++) {
        alert_set_t set;
        s_scripted_set(k, h, &set);
        char id[16];
        snprintf(id, sizeof id, "H%03u", h);
        rc = alertstore_apply(st, h, id, &set, T0 + k * SEC, NULL);
    }
    if (rc == 0)
        rc = alertstore_batch_commit(st, NULL, NULL);
    return rc;
}

HBT_TEST(test_reopen_keeps_open_alerts)
{
    fixture_t *f = *state;
    f->st = s_open(f->dir, NULL);
    for (int k = 1; k <= 12; k++)
        assert_int_equal(s_scripted_batch(f->st, k), 0);
    alertstore_stats_t before;
    alertstore_get_stats(f->st, &before);
    assert_true(before.open > 0 && before.cleared > 0);
    /* The same script in another store is the reference. */
    alertstore_t *ref = s_open(f->dir2, NULL);
    for (int k = 1; k <= 12; k++)
        assert_int_equal(s_scripted_batch(ref, k), 0);
    alertstore_close(&f->st);
    f->st = s_open(f->dir, NULL);
    s_assert_same_open(f->st, ref);
    alertstore_stats_t after;
    alertstore_get_stats(f->st, &after);
    assert_int_equal(after.open, before.open);
    assert_int_equal(after.records, before.records);
    assert_int_equal(after.next_id, before.next_id);
    assert_int_equal(after.halls_alerting, before.halls_alerting);
    for (int k = ALERT_KIND_FIRST; k <= ALERT_KIND_LAST; k++)
        assert_int_equal(after.open_by_kind[k], before.open_by_kind[k]);
    /* And it goes on as if nothing happened. */
    assert_int_equal(s_scripted_batch(f->st, 13), 0);
    assert_int_equal(s_scripted_batch(ref, 13), 0);
    s_assert_same_open(f->st, ref);
    alertstore_close(&ref);
}

/* The child: scripted batches, each commit reported on `report` as one
 * int; with `pause_after` > 0 it stops after that batch and waits to be
 * killed. Never returns. */
static void s_child(const char *dir, int report, int pause_after)
{
    alertstore_t *st = NULL;
    if (alertstore_open(dir, NULL, &st, NULL, 0) != 0)
        _exit(2);
    for (int k = 1; k < 100000; k++) {
        if (s_scripted_batch(st, k) != 0)
            _exit(3);
        if (write(report, &k, sizeof k) != (ssize_t)sizeof k)
            _exit(4);
        if (pause_after > 0 && k == pause_after)
            for (;;)
                pause();
    }
    _exit(5);
}

/* Kills a child running the script and returns the last batch it
 * reported as committed. */
static int s_run_and_kill(const char *dir, int pause_after, int kill_after)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        s_child(dir, fds[1], pause_after);
    }
    close(fds[1]);
    int k = 0, last = 0;
    while (last < kill_after) {
        ssize_t n = read(fds[0], &k, sizeof k);
        if (n != (ssize_t)sizeof k)
            fail_msg("the child stopped reporting after batch %d", last);
        last = k;
    }
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* Reports written before the kill. */
    while (read(fds[0], &k, sizeof k) == (ssize_t)sizeof k)
        last = k;
    close(fds[0]);
    return last;
}

static bool s_same_open(alertstore_t *a, alertstore_t *b)
{
    list_t la = s_open_list(a, NULL), lb = s_open_list(b, NULL);
    bool same = la.n == lb.n;
    for (size_t i = 0; same && i < la.n; i++)
        same = la.recs[i].id == lb.recs[i].id && la.recs[i].hall_num == lb.recs[i].hall_num &&
               la.recs[i].alert.kind == lb.recs[i].alert.kind &&
               strcmp(la.recs[i].alert.subject, lb.recs[i].alert.subject) == 0 &&
               la.recs[i].raised_ms == lb.recs[i].raised_ms;
    free(la.recs);
    free(lb.recs);
    return same;
}

HBT_TEST(test_kill9_between_batches)
{
    fixture_t *f = *state;
    int last = s_run_and_kill(f->dir, 20, 20);
    assert_int_equal(last, 20);
    f->st = s_open(f->dir, NULL);
    alertstore_t *ref = s_open(f->dir2, NULL);
    for (int k = 1; k <= 20; k++)
        assert_int_equal(s_scripted_batch(ref, k), 0);
    s_assert_same_open(f->st, ref);
    /* The next batch after the restart is the reference's next batch. */
    assert_int_equal(s_scripted_batch(f->st, 21), 0);
    assert_int_equal(s_scripted_batch(ref, 21), 0);
    s_assert_same_open(f->st, ref);
    alertstore_close(&ref);
}

HBT_TEST(test_kill9_in_the_middle)
{
    fixture_t *f = *state;
    int last = s_run_and_kill(f->dir, 0, 30);
    assert_true(last >= 30);
    f->st = s_open(f->dir, NULL);
    /* The kill may come between a commit and its report: the store holds
     * batch `last` or the one after, and nothing in between. */
    alertstore_t *ref = s_open(f->dir2, NULL);
    for (int k = 1; k <= last; k++)
        assert_int_equal(s_scripted_batch(ref, k), 0);
    bool same = s_same_open(f->st, ref);
    if (!same) {
        assert_int_equal(s_scripted_batch(ref, last + 1), 0);
        same = s_same_open(f->st, ref);
    }
    if (!same)
        fail_msg("after a kill at batch %d the open alerts are neither batch's", last);
    print_message("killed after batch %d was reported; the store reopened as of a whole batch\n",
                  last);
    alertstore_close(&ref);
}

/* ---------------------------------------------------------- batches ---- */

typedef struct {
    int raised, cleared;
    uint64_t last_id;
} seen_t;

static void s_seen(const alert_change_t *c, void *arg)
{
    seen_t *s = arg;
    if (c->type == ALERT_CHANGE_RAISED)
        s->raised++;
    else
        s->cleared++;
    s->last_id = c->rec.id;
}

HBT_TEST(test_batch_commit_and_abort)
{
    fixture_t *f = *state;
    f->st = s_open(f->dir, NULL);
    alert_set_t set = {0};
    s_add(&set, ALERT_HALL_OFFLINE, "", 130, 120);
    assert_int_equal(alertstore_batch_begin(f->st), 0);
    assert_int_equal(alertstore_batch_begin(f->st), HB_ECONFLICT);
    alert_changes_t ch;
    for (uint32_t h = 1; h <= 3; h++) {
        char id[8];
        snprintf(id, sizeof id, "H%u", h);
        assert_int_equal(alertstore_apply(f->st, h, id, &set, T0, &ch), 0);
        assert_int_equal(ch.n, 1);
    }
    /* Pending: not on disk yet, visible in memory. */
    alert_record_t r;
    assert_int_equal(alertstore_get(f->st, 1, &r), HB_ENOTFOUND);
    assert_int_equal(alertstore_open_count(f->st, NULL), 3);
    assert_int_equal(alertstore_prune(f->st, T0, 10, NULL), HB_ECONFLICT);
    seen_t seen = {0};
    assert_int_equal(alertstore_batch_commit(f->st, s_seen, &seen), 0);
    assert_int_equal(seen.raised, 3);
    assert_int_equal(seen.last_id, 3);
    assert_int_equal(alertstore_get(f->st, 3, &r), 0);
    assert_int_equal(alertstore_batch_commit(f->st, NULL, NULL), HB_ECONFLICT);
    /* Abort: memory goes back to the disk; the ids given are not reused. */
    assert_int_equal(alertstore_batch_begin(f->st), 0);
    set.n = 0;
    assert_int_equal(alertstore_apply(f->st, 1, "H1", &set, T0 + SEC, &ch), 0);
    s_add(&set, ALERT_HALL_NOT_OPEN, "", 400, 300);
    assert_int_equal(alertstore_apply(f->st, 4, "H4", &set, T0 + SEC, &ch), 0);
    assert_int_equal(ch.items[0].rec.id, 4);
    assert_int_equal(alertstore_open_count(f->st, NULL), 3);
    assert_int_equal(alertstore_batch_abort(f->st), 0);
    assert_int_equal(alertstore_open_count(f->st, NULL), 3);
    alertstore_filter_t one = {.hall_num = 1};
    assert_int_equal(alertstore_open_count(f->st, &one), 1);
    one.hall_num = 4;
    assert_int_equal(alertstore_open_count(f->st, &one), 0);
    assert_int_equal(alertstore_apply(f->st, 4, "H4", &set, T0 + 2 * SEC, &ch), 0);
    assert_int_equal(ch.items[0].rec.id, 5);
    /* An empty batch commits nothing and calls nothing. */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(alertstore_batch_begin(f->st), 0);
    assert_int_equal(alertstore_batch_commit(f->st, s_seen, &seen), 0);
    assert_int_equal(seen.raised + seen.cleared, 0);
}

/* A hall's most alerts: ALERTS_MAX overdue complaints named PREFIX00..,
 * sorted. */
static alert_set_t s_full_set(char prefix)
{
    alert_set_t set = {0};
    for (int i = 0; i < ALERTS_MAX; i++) {
        char id[8];
        snprintf(id, sizeof id, "%c%02d", prefix, i);
        s_add(&set, ALERT_COMPLAINT_ACK_OVERDUE, id, i, 100);
    }
    s_sort(&set);
    return set;
}

HBT_TEST(test_batch_bound)
{
    fixture_t *f = *state;
    alertstore_config_t cfg;
    alertstore_config_default(&cfg);
    cfg.batch_max = ALERT_CHANGES_MAX; /* one hall's worst case */
    f->st = s_open(f->dir, &cfg);
    alert_set_t set = s_full_set('K');
    assert_int_equal(alertstore_batch_begin(f->st), 0);
    assert_int_equal(alertstore_apply(f->st, 1, "H1", &set, T0, NULL), 0);
    assert_int_equal(alertstore_apply(f->st, 2, "H2", &set, T0, NULL), 0);
    /* No room for a third hall's 64: refused, nothing changed. */
    alert_changes_t ch;
    assert_int_equal(alertstore_apply(f->st, 3, "H3", &set, T0, &ch), HB_ETOOBIG);
    assert_int_equal(ch.n, 0);
    assert_int_equal(alertstore_open_count(f->st, NULL), 2 * ALERTS_MAX);
    assert_int_equal(alertstore_batch_commit(f->st, NULL, NULL), 0);
    assert_int_equal(alertstore_apply(f->st, 3, "H3", &set, T0, &ch), 0);
    assert_int_equal(ch.n, ALERTS_MAX);
    /* All cleared and all new at once: the most one apply changes. */
    alert_set_t other = s_full_set('L');
    assert_int_equal(alertstore_apply(f->st, 3, "H3", &other, T0 + SEC, &ch), 0);
    assert_int_equal(ch.n, ALERT_CHANGES_MAX);
    /* Refusals. */
    assert_int_equal(alertstore_apply(f->st, 0, "H0", &set, T0, NULL), HB_ERANGE);
    assert_int_equal(alertstore_apply(f->st, cfg.halls_max + 1, "H", &set, T0, NULL), HB_ERANGE);
    assert_int_equal(alertstore_apply(f->st, 5, "", &set, T0, NULL), HB_EINVAL);
    assert_int_equal(
        alertstore_apply(f->st, 5, "H0123456789012345678901234567890123", &set, T0, NULL),
        HB_EINVAL);
    /* A truncated set at the bound holds what it cannot see. */
    other.dropped = 7;
    other.n = ALERTS_MAX / 2;
    assert_int_equal(alertstore_apply(f->st, 3, "H3", &other, T0 + 2 * SEC, &ch), 0);
    assert_int_equal(ch.n, 0);
    alertstore_stats_t stats;
    alertstore_get_stats(f->st, &stats);
    assert_int_equal(stats.dropped, 7);
    alertstore_filter_t h3 = {.hall_num = 3};
    assert_int_equal(alertstore_open_count(f->st, &h3), ALERTS_MAX);
    /* Settings out of range. */
    alertstore_t *bad = NULL;
    char err[256];
    cfg.retention_count = 0;
    assert_int_equal(alertstore_open(f->dir2, &cfg, &bad, err, sizeof err), HB_EINVAL);
    assert_null(bad);
    assert_non_null(strstr(err, "retention"));
}

HBT_TEST(test_map_grows_or_fails_cleanly)
{
    fixture_t *f = *state;
    alertstore_config_t cfg;
    alertstore_config_default(&cfg);
    cfg.map_size = 64 << 10;
    cfg.map_max = 64 << 20;
    f->st = s_open(f->dir, &cfg);
    /* Enough raises to pass 64 KiB many times over. */
    alert_set_t set = s_full_set('K');
    assert_int_equal(alertstore_batch_begin(f->st), 0);
    for (uint32_t h = 1; h <= 100; h++) {
        char id[8];
        snprintf(id, sizeof id, "H%u", h);
        assert_int_equal(alertstore_apply(f->st, h, id, &set, T0, NULL), 0);
    }
    assert_int_equal(alertstore_batch_commit(f->st, NULL, NULL), 0);
    alertstore_stats_t stats;
    alertstore_get_stats(f->st, &stats);
    assert_true(stats.map_grows > 0);
    assert_int_equal(stats.records, 100 * ALERTS_MAX);
    alertstore_close(&f->st);
    /* A map that may not grow: the commit fails, nothing is reported and
     * memory is what the disk holds. */
    cfg.map_size = cfg.map_max = 256 << 10;
    f->st = s_open(f->dir2, &cfg);
    assert_int_equal(alertstore_apply(f->st, 1, "H1", &set, T0, NULL), 0);
    seen_t seen = {0};
    assert_int_equal(alertstore_batch_begin(f->st), 0);
    for (uint32_t h = 2; h <= 100; h++) {
        char id[8];
        snprintf(id, sizeof id, "H%u", h);
        assert_int_equal(alertstore_apply(f->st, h, id, &set, T0, NULL), 0);
    }
    assert_int_equal(alertstore_batch_commit(f->st, s_seen, &seen), HB_EMAPFULL);
    assert_int_equal(seen.raised, 0);
    assert_int_equal(alertstore_open_count(f->st, NULL), ALERTS_MAX);
    alertstore_get_stats(f->st, &stats);
    assert_int_equal(stats.commit_failures, 1);
    /* It still works for what fits, with ids never given before. */
    set.n = 1;
    alert_changes_t ch;
    assert_int_equal(alertstore_apply(f->st, 2, "H2", &set, T0 + SEC, &ch), 0);
    assert_int_equal(ch.n, 1);
    assert_true(ch.items[0].rec.id > 100 * ALERTS_MAX);
    alertstore_close(&f->st);
    f->st = s_open(f->dir2, &cfg);
    assert_int_equal(alertstore_open_count(f->st, NULL), ALERTS_MAX + 1);
}

/* ---------------------------------------------------------- history ---- */

typedef struct {
    uint64_t ids[4096];
    size_t n;
} ids_t;

static int s_take_id(const alert_record_t *r, void *arg)
{
    ids_t *ids = arg;
    assert_true(ids->n < 4096);
    ids->ids[ids->n++] = r->id;
    return 0;
}

/* All pages of a query, concatenated. */
static void s_pages(alertstore_t *st, alertstore_query_t q, ids_t *out)
{
    out->n = 0;
    for (int page = 0; page < 1000; page++) {
        uint64_t next = 0;
        char err[256];
        size_t before = out->n;
        int rc = alertstore_history(st, &q, s_take_id, out, &next, err, sizeof err);
        if (rc != 0)
            fail_msg("history: %s", err);
        assert_true(out->n - before <= q.limit);
        if (next == 0)
            return;
        assert_int_equal(next, out->ids[out->n - 1]);
        q.before_id = next;
    }
    fail_msg("history pages do not end");
}

/* 3 halls, 60 alerts, raised one a minute, each cleared a minute later;
 * hall 2's every third is a device fault. */
static void s_history_script(alertstore_t *st)
{
    for (int i = 0; i < 60; i++) {
        uint32_t hall = (uint32_t)(i % 3) + 1;
        char id[8], subject[16];
        snprintf(id, sizeof id, "H%u", hall);
        snprintf(subject, sizeof subject, "S%02d", i);
        alert_set_t set = {0};
        s_add(&set, hall == 2 && i % 9 == 1 ? ALERT_DEVICE_FAULT : ALERT_WAIT_SLA, subject, i, 1);
        int64_t t = T0 + (int64_t)i * 60 * SEC;
        assert_int_equal(alertstore_apply(st, hall, id, &set, t, NULL), 0);
        set.n = 0;
        assert_int_equal(alertstore_apply(st, hall, id, &set, t + 60 * SEC, NULL), 0);
    }
}

HBT_TEST(test_history_pages_and_filters)
{
    fixture_t *f = *state;
    f->st = s_open(f->dir, NULL);
    s_history_script(f->st);
    ids_t all, page;
    alertstore_query_t q = {.limit = ALERTSTORE_PAGE_MAX};
    s_pages(f->st, q, &all);
    assert_int_equal(all.n, 60);
    for (size_t i = 0; i < all.n; i++)
        assert_int_equal(all.ids[i], 60 - i); /* newest first */
    /* Pages of 7 give the same, in the same order. */
    q.limit = 7;
    s_pages(f->st, q, &page);
    assert_int_equal(page.n, 60);
    assert_memory_equal(page.ids, all.ids, 60 * sizeof all.ids[0]);
    /* One hall. */
    q.hall_num = 2;
    s_pages(f->st, q, &page);
    assert_int_equal(page.n, 20);
    for (size_t i = 0; i < page.n; i++) {
        alert_record_t r;
        assert_int_equal(alertstore_get(f->st, page.ids[i], &r), 0);
        assert_int_equal(r.hall_num, 2);
        assert_string_equal(r.hall, "H2");
        assert_true(r.cleared_ms == r.raised_ms + 60 * SEC);
        if (i > 0)
            assert_true(page.ids[i] < page.ids[i - 1]);
    }
    /* One hall and one kind: alerts 1, 10, 19, ... of hall 2 (ids 2, 11, ...). */
    q.kind = ALERT_DEVICE_FAULT;
    q.limit = 2;
    s_pages(f->st, q, &page);
    assert_int_equal(page.n, 7);
    assert_int_equal(page.ids[0], 56);
    assert_int_equal(page.ids[6], 2);
    /* A time range: raised in [T0 + 10 min, T0 + 20 min). */
    q = (alertstore_query_t){.from_ms = T0 + 600 * SEC, .to_ms = T0 + 1200 * SEC, .limit = 3};
    s_pages(f->st, q, &page);
    assert_int_equal(page.n, 10);
    assert_int_equal(page.ids[0], 20);
    assert_int_equal(page.ids[9], 11);
    /* JSON. */
    json_t *j = NULL;
    char err[256];
    q.limit = 4;
    assert_int_equal(alertstore_history_json(f->st, &q, &j, err, sizeof err), 0);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "next_before")), 17);
    json_t *first = json_array_get(json_object_get(j, "alerts"), 0);
    assert_false(json_is_null(json_object_get(first, "cleared")));
    assert_true(json_is_false(json_object_get(first, "open")));
    json_decref(j);
    q.limit = 1000;
    assert_int_equal(alertstore_history_json(f->st, &q, &j, err, sizeof err), 0);
    assert_true(json_is_null(json_object_get(j, "next_before")));
    json_decref(j);
    /* Refusals. */
    uint64_t next;
    q.limit = 0;
    assert_int_equal(alertstore_history(f->st, &q, s_take_id, &page, &next, err, sizeof err),
                     HB_EINVAL);
    q.limit = ALERTSTORE_PAGE_MAX + 1;
    assert_int_equal(alertstore_history(f->st, &q, s_take_id, &page, &next, err, sizeof err),
                     HB_EINVAL);
    q = (alertstore_query_t){.from_ms = T0 + SEC, .to_ms = T0, .limit = 5};
    assert_int_equal(alertstore_history(f->st, &q, s_take_id, &page, &next, err, sizeof err),
                     HB_EINVAL);
    q = (alertstore_query_t){.before_id = 999, .limit = 5};
    assert_int_equal(alertstore_history(f->st, &q, s_take_id, &page, &next, err, sizeof err),
                     HB_ENOTFOUND);
    assert_non_null(strstr(err, "999"));
}

/* -------------------------------------------------------- retention ---- */

HBT_TEST(test_retention)
{
    fixture_t *f = *state;
    alertstore_config_t cfg;
    alertstore_config_default(&cfg);
    cfg.retention_ms = 30 * 60 * SEC; /* half an hour */
    cfg.retention_count = 1000;
    f->st = s_open(f->dir, &cfg);
    /* An alert raised first and still open: never pruned. */
    alert_set_t keep = {0};
    s_add(&keep, ALERT_HALL_OFFLINE, "", 1000, 120);
    assert_int_equal(alertstore_apply(f->st, 9, "H9", &keep, T0 - 3600 * SEC, NULL), 0);
    s_history_script(f->st); /* ids 2..61, cleared T0 + 1 min .. T0 + 60 min */
    alertstore_stats_t stats;
    alertstore_get_stats(f->st, &stats);
    assert_int_equal(stats.records, 61);
    /* At T0 + 50 min, by age: what was cleared before T0 + 20 min goes
     * (raised before T0 + 19 min: ids 2..20), in steps of 5. */
    int64_t now = T0 + 3000 * SEC;
    size_t deleted = 0, total = 0;
    do {
        assert_int_equal(alertstore_prune(f->st, now, 5, &deleted), 0);
        total += deleted;
    } while (deleted == 5);
    assert_int_equal(total, 19);
    alert_record_t r;
    assert_int_equal(alertstore_get(f->st, 20, &r), HB_ENOTFOUND);
    assert_int_equal(alertstore_get(f->st, 21, &r), 0);
    assert_int_equal(alertstore_get(f->st, 1, &r), 0);
    /* By count: 42 left, 40 allowed: the two oldest cleared go. */
    alertstore_close(&f->st);
    cfg.retention_count = 40;
    f->st = s_open(f->dir, &cfg);
    assert_int_equal(alertstore_prune(f->st, now, 1000, &deleted), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(alertstore_get(f->st, 22, &r), HB_ENOTFOUND);
    assert_int_equal(alertstore_get(f->st, 23, &r), 0);
    assert_int_equal(alertstore_get(f->st, 1, &r), 0);
    alertstore_get_stats(f->st, &stats);
    assert_int_equal(stats.records, 40);
    assert_int_equal(stats.pruned, 2);
    /* Nothing more to do. */
    assert_int_equal(alertstore_prune(f->st, now, 1000, &deleted), 0);
    assert_int_equal(deleted, 0);
    /* The history no longer lists them, by time or by hall; the open one
     * is still open. */
    ids_t ids;
    s_pages(f->st, (alertstore_query_t){.limit = 100}, &ids);
    assert_int_equal(ids.n, 40);
    assert_int_equal(ids.ids[ids.n - 1], 1);
    s_pages(f->st, (alertstore_query_t){.hall_num = 1, .limit = 100}, &ids);
    for (size_t i = 0; i < ids.n; i++)
        assert_true(ids.ids[i] >= 23);
    assert_int_equal(alertstore_open_count(f->st, NULL), 1);
    /* A page cursor pruned away is refused, not misread. */
    char err[256];
    uint64_t next;
    alertstore_query_t q = {.before_id = 5, .limit = 5};
    assert_int_equal(alertstore_history(f->st, &q, s_take_id, &ids, &next, err, sizeof err),
                     HB_ENOTFOUND);
    /* After a reopen the count is the same. */
    alertstore_close(&f->st);
    f->st = s_open(f->dir, &cfg);
    alertstore_get_stats(f->st, &stats);
    assert_int_equal(stats.records, 40);
    assert_int_equal(stats.open, 1);
}

/* ----------------------------------------------------- open queries ---- */

static bool s_even_halls(uint32_t num, void *arg)
{
    (void)arg;
    return num % 2 == 0;
}

HBT_TEST(test_open_filters)
{
    fixture_t *f = *state;
    f->st = s_open(f->dir, NULL);
    assert_int_equal(alertstore_batch_begin(f->st), 0);
    for (uint32_t h = 1; h <= 10; h++) {
        alert_set_t set = {0};
        s_add(&set, ALERT_WAIT_SLA, "A:normal", 700, 600);
        if (h % 3 == 0)
            s_add(&set, ALERT_DEVICE_FAULT, "kiosk-1", 2000, 1800);
        s_sort(&set);
        char id[8];
        snprintf(id, sizeof id, "H%02u", h);
        assert_int_equal(alertstore_apply(f->st, h, id, &set, T0, NULL), 0);
    }
    assert_int_equal(alertstore_batch_commit(f->st, NULL, NULL), 0);
    assert_int_equal(alertstore_open_count(f->st, NULL), 13);
    alertstore_filter_t flt = {.kind = ALERT_DEVICE_FAULT};
    assert_int_equal(alertstore_open_count(f->st, &flt), 3);
    flt = (alertstore_filter_t){.hall_num = 6};
    assert_int_equal(alertstore_open_count(f->st, &flt), 2);
    flt = (alertstore_filter_t){.hall_num = 6, .kind = ALERT_WAIT_SLA};
    assert_int_equal(alertstore_open_count(f->st, &flt), 1);
    flt = (alertstore_filter_t){.hall_num = 100000};
    assert_int_equal(alertstore_open_count(f->st, &flt), 0);
    flt = (alertstore_filter_t){.hall_pred = s_even_halls};
    assert_int_equal(alertstore_open_count(f->st, &flt), 5 + 1);
    /* Listed by hall then key. */
    list_t l = s_open_list(f->st, NULL);
    for (size_t i = 1; i < l.n; i++)
        assert_true(l.recs[i - 1].hall_num < l.recs[i].hall_num ||
                    (l.recs[i - 1].hall_num == l.recs[i].hall_num &&
                     alert_key_cmp(&l.recs[i - 1].alert, &l.recs[i].alert) < 0));
    free(l.recs);
    json_t *j = NULL;
    assert_int_equal(alertstore_open_json(f->st, NULL, 5, &j), 0);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 13);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);
    assert_int_equal(alertstore_open_json(f->st, NULL, 0, &j), HB_EINVAL);
    assert_int_equal(alertstore_open_json(f->st, NULL, ALERTSTORE_PAGE_MAX + 1, &j), HB_EINVAL);
}

/* ------------------------------------------------------------ rate ---- */

HBT_TEST(test_pass_over_10000_halls)
{
    fixture_t *f = *state;
    enum { HALLS = 10000, PASSES = 10 };
    f->st = s_open(f->dir, NULL);
    double worst = 0, sum = 0;
    size_t changes = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(alertstore_batch_begin(f->st), 0);
        for (uint32_t h = 1; h <= HALLS; h++) {
            /* One hall in ten alerting, one in a hundred changing each
             * second, as a busy morning looks. */
            alert_set_t set = {0};
            if (h % 10 == 0)
                s_add(&set, ALERT_WAIT_SLA, "A:normal", 700 + pass, 600);
            if (h % 100 == (uint32_t)pass)
                s_add(&set, ALERT_DIVERSION, "B", 31, 30);
            s_sort(&set);
            char id[8];
            snprintf(id, sizeof id, "H%05u", h);
            alert_changes_t *ch = NULL;
            assert_int_equal(alertstore_apply(f->st, h, id, &set, T0 + pass * SEC, ch), 0);
        }
        seen_t seen = {0};
        assert_int_equal(alertstore_batch_commit(f->st, s_seen, &seen), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        sum += ms;
        if (ms > worst)
            worst = ms;
        changes += (size_t)(seen.raised + seen.cleared);
    }
    print_message("alertstore: a pass over %d halls (apply + one synced commit) takes %.1f ms on "
                  "average, %.1f ms at worst; %zu changes in %d passes\n",
                  HALLS, sum / PASSES, worst, changes, PASSES);
    assert_int_equal(alertstore_open_count(f->st, NULL), HALLS / 10 + HALLS / 100);
}

/* Every kind reads as parameters a page can word in its own language: the
 * subject's parts by name, the value and the threshold as numbers, and the
 * severity; expected texts written out by hand. */
HBT_TEST_IN(test_alert_params, NULL, NULL)
{
    static const struct {
        int kind;
        const char *subject;
        const char *want;
        const char *severity;
    } rows[] = {
        {ALERT_WAIT_SLA, "A:vip",
         "{\"service\":\"A\",\"priority\":\"vip\",\"wait_s\":1250,\"limit_s\":900}", "warning"},
        {ALERT_WAIT_SLA, "B:7",
         "{\"service\":\"B\",\"priority\":\"7\",\"wait_s\":1250,\"limit_s\":900}", "warning"},
        {ALERT_DIVERSION, "C", "{\"service\":\"C\",\"waiting\":1250,\"threshold\":900}", "info"},
        {ALERT_DEVICE_FAULT, "kiosk:2", "{\"device\":\"kiosk:2\",\"for_s\":1250,\"limit_s\":900}",
         "warning"},
        {ALERT_COMPLAINT_ACK_OVERDUE, "K-1",
         "{\"complaint\":\"K-1\",\"overdue_s\":1250,\"allowance_s\":900}", "warning"},
        {ALERT_HALL_OFFLINE, "", "{\"offline_s\":1250,\"grace_s\":900}", "critical"},
        {ALERT_NO_COUNTER_OPEN, "", "{\"for_s\":1250,\"grace_s\":900}", "critical"},
        {ALERT_HALL_BLOCKED, "", "{\"blocked_s\":1250}", "critical"},
        {ALERT_STREAM_CONFLICT, "", "{\"seq\":1250}", "critical"},
        {ALERT_DISK_NEARLY_FULL, "event_store_map",
         "{\"resource\":\"event_store_map\",\"free_percent\":1250,\"min_free_percent\":900}",
         "critical"},
        /* The hall's refusal code after the document; none from an older
         * hall, nor in an alert an older build stored (its reason alone,
         * '/' and ':' in it kept). */
        {ALERT_DOCUMENT_REFUSED, "policy/unknown_timezone:zone Asia/Shanghai: no file",
         "{\"document\":\"policy\",\"code\":\"unknown_timezone\",\"reason\":\"zone "
         "Asia/Shanghai: no file\",\"version\":1250}",
         "warning"},
        {ALERT_DOCUMENT_REFUSED, "calendar:timezone: Asia/Shanghai",
         "{\"document\":\"calendar\",\"code\":\"\",\"reason\":\"timezone: "
         "Asia/Shanghai\",\"version\":1250}",
         "warning"},
        {99, "", "{\"value\":1250,\"threshold\":900}", "warning"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        alert_record_t rec;
        memset(&rec, 0, sizeof rec);
        rec.id = 1;
        snprintf(rec.hall, sizeof rec.hall, "H1");
        rec.alert.kind = rows[i].kind;
        snprintf(rec.alert.subject, sizeof rec.alert.subject, "%s", rows[i].subject);
        rec.alert.value = 1250;
        rec.alert.threshold = 900;
        rec.raised_ms = 1700000000000;
        json_t *o = alert_record_json(&rec);
        assert_non_null(o);
        json_error_t jerr;
        json_t *want = json_loads(rows[i].want, 0, &jerr);
        assert_non_null(want);
        json_t *got = json_object_get(o, "params");
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fail_msg("%s %s: params %s, want %s", alert_kind_name(rows[i].kind), rows[i].subject, g,
                     rows[i].want);
        }
        assert_string_equal(json_string_value(json_object_get(o, "severity")), rows[i].severity);
        json_decref(want);
        json_decref(o);
    }
    assert_int_equal(alert_severity_parse("critical"), ALERT_SEV_CRITICAL);
    assert_int_equal(alert_severity_parse("urgent"), 0);
    assert_string_equal(alert_severity_name(ALERT_SEV_INFO), "info");
    assert_string_equal(alert_severity_name(9), "unknown");
}
