/* The integration tests' world and their checked requests (see world.h).
 * Every failure fails the calling test with what was answered. */
#include "world.h"

#include "hallbus/ids.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static void s_args(char (*dst)[512], int *n, int max, const char *const *args)
{
    for (size_t i = 0; i < HBT_WORLD_ARGS && args[i]; i++) {
        assert_true(*n < max);
        snprintf(dst[(*n)++], sizeof dst[0], "%s", args[i]);
    }
}

int hbt_world_setup(void **state)
{
    const hbt_world_spec_t *spec = *state;
    hbt_world_t *w = calloc(1, sizeof *w);
    assert_non_null(w);
    hbt_mkdtemp(w->root, sizeof w->root, spec->tag);
    hbt_hq_init(&w->hq, w->root);
    s_args(w->hq.extra, &w->hq.n_extra, 8, spec->hq_args);
    if (!spec->hq_stopped)
        hbt_hq_start(&w->hq);
    assert_true(spec->n_numbered <= HBT_WORLD_HALLS);
    size_t n = 0;
    while (n < HBT_WORLD_HALLS && spec->halls[n])
        n++;
    if (spec->numbered)
        n = (size_t)spec->n_numbered;
    for (size_t i = 0; i < n; i++) {
        hbt_hall_t *h = &w->hall[w->n_halls++];
        char id[HB_HALL_ID_MAX];
        if (spec->numbered)
            snprintf(id, sizeof id, "%s%02d", spec->numbered, (int)i + 1);
        hbt_hall_enroll(&w->hq, h, spec->numbered ? id : spec->halls[i]);
        if (spec->engine)
            hbt_hall_set_engine(h, HBT_POLICY_ALWAYS_OPEN, NULL);
        s_args(h->extra, &h->n_extra, 8, spec->hall_args);
    }
    if (spec->start)
        hbt_halls_start(w->hall, w->n_halls);
    *state = w;
    return 0;
}

int hbt_world_teardown(void **state)
{
    hbt_world_t *w = *state;
    for (size_t i = 0; i < w->n_halls; i++)
        hbt_hall_stop(&w->hall[i], SIGTERM);
    hbt_hq_stop(&w->hq, SIGTERM);
    hbt_rmdir(w->root);
    free(w);
    return 0;
}

void *hbt_world_state_new(const hbt_world_spec_t *spec, size_t size)
{
    assert_true(size >= sizeof(hbt_world_t *));
    void *world = (void *)spec;
    hbt_world_setup(&world);
    /* The state's first member is its world: C lets a pointer to a struct
     * stand for one to its first member. */
    hbt_world_t **state = calloc(1, size);
    assert_non_null(state);
    *state = world;
    (*state)->test = state;
    return state;
}

int hbt_world_state_teardown(void **state)
{
    hbt_world_t **s = *state;
    void *world = *s;
    free(s);
    return hbt_world_teardown(&world);
}

/* The answer, or the test fails with it when the status is not `want`;
 * with `token`, or the one registered for `base` when it is NULL. */
static json_t *s_answer(const char *base, const char *token, const char *method, const char *path,
                        const char *body, int want)
{
    json_t *out = NULL;
    int status = token ? hbt_http_as(base, token, NULL, method, path, body, &out)
                       : hbt_http(base, method, path, body, &out);
    if (status != want) {
        char *dump = out ? json_dumps(out, 0) : NULL;
        fail_msg("%s %s %.300s: status %d, wanted %d: %s", method, path, body ? body : "", status,
                 want, dump ? dump : "(no JSON)");
    }
    return out;
}

json_t *hbt_req(const char *base, const char *method, const char *path, const char *body, int want)
{
    json_t *out = s_answer(base, NULL, method, path, body, want);
    assert_non_null(out);
    return out;
}

void hbt_req_ok(const char *base, const char *method, const char *path, const char *body, int want)
{
    json_decref(s_answer(base, NULL, method, path, body, want));
}

json_t *hbt_req_as(const char *base, const char *token, const char *method, const char *path,
                   const char *body, int want)
{
    return s_answer(base, token, method, path, body, want);
}

const char *hbt_str(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v ? v : "";
}

void hbt_refused(const char *base, const char *method, const char *path, const char *body,
                 int status, const char *code, const char *want)
{
    json_t *a = hbt_req(base, method, path, body, status);
    if (strcmp(hbt_str(a, "error"), code) != 0 || !strstr(hbt_str(a, "reason"), want))
        fail_msg("%s %s %.200s: got %s \"%s\", wanted %s naming \"%s\"", method, path,
                 body ? body : "", hbt_str(a, "error"), hbt_str(a, "reason"), code, want);
    json_decref(a);
}

void hbt_refused_rows(const char *base, const hbt_refusal_t *rows, size_t n)
{
    /* hbt_refused names the method, path and body of a row that fails. */
    for (size_t i = 0; i < n; i++)
        hbt_refused(base, rows[i].method, rows[i].path, rows[i].body, rows[i].status, rows[i].code,
                    rows[i].want);
}

json_t *hbt_get_first(const char *base, const char *path, const char *member)
{
    json_t *a = hbt_get(base, path);
    json_t *x = json_incref(json_array_get(json_object_get(a, member), 0));
    json_decref(a);
    return x;
}

json_t *hbt_wait_alert(const char *base, const char *hall, const char *kind, int timeout_ms)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/alerts?state=open&hall=%s&kind=%s", hall, kind);
    int64_t deadline = hbt_now_ms() + timeout_ms;
    for (;;) {
        json_t *x = hbt_get_first(base, path, "alerts");
        if (x || hbt_now_ms() >= deadline)
            return x;
        hbt_sleep_ms(100);
    }
}

bool hbt_wait_alert_cleared(const char *base, const char *hall, const char *kind, int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms;
    for (;;) {
        json_t *al = hbt_wait_alert(base, hall, kind, 0);
        json_decref(al);
        if (!al)
            return true;
        if (hbt_now_ms() >= deadline)
            return false;
        hbt_sleep_ms(100);
    }
}

json_t *hbt_find(const json_t *arr, const char *name, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach (arr, i, o) {
        if (strcmp(hbt_str(o, name), value) == 0)
            return o;
    }
    return NULL;
}

void hbt_assert_strs(const json_t *o, ...)
{
    va_list ap;
    va_start(ap, o);
    for (const char *name; (name = va_arg(ap, const char *));) {
        const char *want = va_arg(ap, const char *);
        if (strcmp(hbt_str(o, name), want) != 0) {
            va_end(ap);
            fail_msg("member %s is \"%s\", wanted \"%s\"", name, hbt_str(o, name), want);
        }
    }
    va_end(ap);
}

void hbt_publish(const char *base, const char *org, const char *national)
{
    if (org)
        hbt_req_ok(base, "PUT", "/v1/org", org, 200);
    hbt_req_ok(base, "PUT", "/v1/policies/national", national, 200);
    hbt_req_ok(base, "POST", "/v1/policies/publish", "{}", 200);
}

void hbt_world_start_halls(hbt_world_t *w, const char *policy)
{
    for (size_t i = 0; i < w->n_halls; i++)
        hbt_hall_set_engine(&w->hall[i], policy, NULL);
    hbt_halls_start(w->hall, w->n_halls);
}

void hbt_hall_start_zoneless(hbt_world_t *w, hbt_hall_t *hall)
{
    char tzdir[400];
    snprintf(tzdir, sizeof tzdir, "%s/no-zones", w->root);
    setenv("TZDIR", tzdir, 1);
    hbt_hall_start(hall);
    unsetenv("TZDIR");
}
