/* HQ's control plane with real processes on loopback: the organisation,
 * policies, campaigns, the coordination check, the export, slices, the
 * glossary and the rollout view, end to end over HTTP and through
 * hallctl's binary; every bad document
 * of issue 4 (unknown members, reversed dates, a scope that reaches no
 * hall, an unknown parent, oversized text, bad policy values, an unknown
 * region, wrong JSON types, broken JSON) refused with a reason that names
 * it, and nothing stored; and a calendar with several findings reported
 * all at once. */
#include "harness.h"

#include "hallbus/calendar.h"
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

#include "events.h"
#include "runner.h"
#include "world.h"

#define HALLCTL HB_BIN_DIR "/tools/hallctl"

/* The people who act in these tests: who acts is whoever the token is. */
static const char *const s_people[][2] = {
    {"alice", "marketer"}, {"bob", "marketer"}, {"rita", "reviewer"}, {"ops", "admin"}};
#define PEOPLE (sizeof s_people / sizeof s_people[0])

/* Their tokens, made when the world is set up; the admin token hallctl gets
 * when a test gives it none. */
static char s_tokens[PEOPLE][64];
static char s_admin[64];

static int s_setup(void **state)
{
    hbt_world_setup(state);
    hbt_world_t *w = *state;
    for (size_t i = 0; i < PEOPLE; i++)
        hbt_hq_user(&w->hq, s_people[i][0], s_tokens[i], "--role", s_people[i][1], NULL);
    snprintf(s_admin, sizeof s_admin, "%s", w->hq.token);
    return 0;
}

static const char *s_tok(const char *who)
{
    for (size_t i = 0; i < PEOPLE; i++)
        if (strcmp(s_people[i][0], who) == 0)
            return s_tokens[i];
    fail_msg("no person %s in this test", who);
    return NULL;
}

/* ---------------------------------------------------------- helpers ---- */

/* One request as `who` (NULL: the admin) that must answer `want`; returns
 * the JSON body (owned). */
static json_t *s_req_as(hbt_world_t *w, const char *who, const char *method, const char *path,
                        const char *body, int want)
{
    json_t *out = hbt_req_as(w->hq.http, who ? s_tok(who) : w->hq.token, method, path, body, want);
    assert_non_null(out);
    return out;
}

static void s_ok_as(hbt_world_t *w, const char *who, const char *method, const char *path,
                    const char *body, int want)
{
    json_decref(s_req_as(w, who, method, path, body, want));
}

static void s_ok(hbt_world_t *w, const char *method, const char *path, const char *body, int want)
{
    s_ok_as(w, NULL, method, path, body, want);
}

#define s_str hbt_str

/* A refusal to `who`: its status, error code and a reason that mentions
 * `want`. */
static void s_refused_as(hbt_world_t *w, const char *who, const char *method, const char *path,
                         const char *body, int status, const char *code, const char *want)
{
    json_t *a = s_req_as(w, who, method, path, body, status);
    if (strcmp(s_str(a, "error"), code) != 0 || !strstr(s_str(a, "reason"), want))
        fail_msg("%s %s %.200s: got %s \"%s\", wanted %s naming \"%s\"", method, path,
                 body ? body : "", s_str(a, "error"), s_str(a, "reason"), code, want);
    json_decref(a);
}

static void s_refused(hbt_world_t *w, const char *method, const char *path, const char *body,
                      int status, const char *code, const char *want)
{
    s_refused_as(w, NULL, method, path, body, status, code, want);
}

static void s_date(int days_from_today, char out[11])
{
    hb_date_format(hb_cal_day_of_ms(hb_now_ms()) + days_from_today, out);
}

/* A campaign document: `level` campaign of `region` reaching `scope`,
 * starting `start` days from today for `days` days, about `product`,
 * with one FAQ entry or none. New string. */
static char *s_campaign(const char *id, const char *level, const char *region, const char *scope,
                        int start, int days, const char *product, const char *text, bool faq)
{
    char d1[11], d2[11];
    s_date(start, d1);
    s_date(start + days - 1, d2);
    json_error_t jerr;
    json_t *sc = json_loads(scope, 0, &jerr);
    assert_non_null(sc);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:[s], s:[], s:s, s:[s], s:{s:s}}",
                          "id", id, "title", id, "level", level, "region", region, "scope", sc,
                          "start", d1, "end", d2, "products", product, "business_types", "segment",
                          "retail", "channels", "kiosk", "texts", "kiosk", text);
    assert_non_null(d);
    if (faq)
        json_object_set_new(d, "faq",
                            json_pack("[{s:s, s:s}]", "question", "Who can join?", "answer",
                                      "Every customer over 18."));
    char *out = hbt_json_text(d);
    json_decref(d);
    return out;
}

static const char s_org[] = HBT_WORLD_REGIONS
    " \"halls\": ["
    " {\"id\": \"H001\", \"city\": \"C001\", \"name\": \"Main Street\", \"tags\": [\"flagship\"]},"
    " {\"id\": \"H002\", \"city\": \"C001\"},"
    " {\"id\": \"H003\", \"city\": \"C002\", \"tags\": [\"rural\"]},"
    " {\"id\": \"H004\", \"city\": \"C003\"}]}";

/* ------------------------------------------------------ the flow, HTTP */

static const hbt_world_spec_t s_world = {.tag = "ctlapi"};

#define HBT_FIXTURE s_setup, hbt_world_teardown, &s_world

HBT_TEST(test_flow_http)
{
    hbt_world_t *w = *state;
    /* The organisation: whole, then a region and a hall placed one by one. */
    json_t *a = hbt_req(w->hq.http, "PUT", "/v1/org", s_org, 200);
    assert_int_equal(hbt_int(a, "regions"), 6);
    assert_int_equal(hbt_int(a, "halls"), 4);
    json_decref(a);
    a = hbt_req(w->hq.http, "PUT", "/v1/org/regions/C004",
                "{\"name\": \"Lakeside\", \"level\": \"city\", \"parent\": \"P02\"}", 201);
    assert_string_equal(hbt_str(a, "id"), "C004"); /* filled in from the path */
    json_decref(a);
    hbt_req_ok(
        w->hq.http, "PUT", "/v1/org/regions/C004",
        "{\"id\": \"C004\", \"name\": \"Lakeside Town\", \"level\": \"city\", \"parent\": \"P02\"}",
        200);
    hbt_req_ok(w->hq.http, "PUT", "/v1/org/halls/H005",
               "{\"city\": \"C004\", \"tags\": [\"24h-self-service\"]}", 201);
    a = hbt_req(w->hq.http, "GET", "/v1/org/halls/H005", NULL, 200);
    json_t *chain = json_object_get(a, "chain");
    assert_int_equal(json_array_size(chain), 3);
    assert_string_equal(hbt_str(json_array_get(chain, 0), "id"), "C004");
    assert_string_equal(hbt_str(json_array_get(chain, 0), "name"), "Lakeside Town");
    assert_string_equal(hbt_str(json_array_get(chain, 1), "id"), "P02");
    assert_string_equal(hbt_str(json_array_get(chain, 2), "id"), "CN");
    assert_string_equal(hbt_str(json_object_get(a, "hall"), "city"), "C004");
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/org", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(a, "regions")), 7);
    assert_int_equal(json_array_size(json_object_get(a, "halls")), 5);
    json_decref(a);
    hbt_req_ok(w->hq.http, "GET", "/v1/org/regions/P02", NULL, 200);

    /* Policies: drafts per scope, effective with the drafts, then published. */
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/national", HBT_POLICY_ALWAYS_OPEN, 200);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/regions/P01",
               "{\"diversion\": {\"threshold\": 20}}", 200);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/regions/C001", "{\"divert_to\": [\"H003\"]}", 200);
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/halls/H001", "{\"diversion\": {\"threshold\": 5}}",
               200);
    a = hbt_req(w->hq.http, "GET", "/v1/policies/effective/H001?drafts=1", NULL, 200);
    assert_true(json_is_null(json_object_get(a, "version")));
    assert_int_equal(json_array_size(json_object_get(a, "scopes")), 4);
    json_t *pol = json_object_get(a, "policy");
    assert_int_equal(hbt_int(json_object_get(pol, "diversion"), "threshold"), 5);
    assert_string_equal(json_string_value(json_array_get(json_object_get(pol, "divert_to"), 0)),
                        "H003");
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/policies/effective/H001", NULL, 200);
    assert_int_equal(hbt_int(a, "version"), 0);
    assert_int_equal(
        hbt_int(json_object_get(json_object_get(a, "policy"), "diversion"), "threshold"),
        30); /* nothing published yet: the defaults */
    json_decref(a);
    a = s_req_as(w, "ops", "POST", "/v1/policies/publish", "{}", 200);
    assert_int_equal(hbt_int(a, "version"), 1);
    assert_string_equal(hbt_str(a, "published_by"), "ops");
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/policies/effective/H002", NULL, 200);
    assert_int_equal(hbt_int(a, "version"), 1);
    assert_true(json_is_true(json_object_get(a, "placed")));
    assert_int_equal(
        hbt_int(json_object_get(json_object_get(a, "policy"), "diversion"), "threshold"),
        20); /* the province's, under the city's own document */
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/policies/halls/H001", NULL, 200);
    assert_true(json_equal(json_object_get(a, "draft"), json_object_get(a, "published")));
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/policies", NULL, 200);
    assert_int_equal(json_object_size(json_object_get(a, "published")), 4);
    json_decref(a);

    /* The rollout view: every hall of the organisation, none connected. */
    a = hbt_req(w->hq.http, "GET", "/v1/rollout?halls=10", NULL, 200);
    json_t *rp = json_object_get(a, "policy");
    assert_int_equal(hbt_int(rp, "version"), 1);
    assert_int_equal(hbt_int(rp, "halls"), 5);
    assert_int_equal(hbt_int(rp, "applied"), 0);
    assert_int_equal(hbt_int(rp, "offline"), 5);
    assert_int_equal(json_array_size(json_object_get(rp, "offline_halls")), 5);
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/org/halls/H001", NULL, 200);
    assert_int_equal(hbt_int(json_object_get(a, "policy"), "version"), 1);
    assert_int_equal(hbt_int(json_object_get(a, "policy"), "applied"), 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(a, "policy"), "scopes")), 4);
    json_decref(a);

    /* Campaigns: the check blocks approving one without an FAQ. */
    hbt_req_ok(w->hq.http, "PUT", "/v1/glossary",
               "{\"terms\": [{\"term\": \"APR\", \"definition\": \"annual percentage rate\"}]}",
               200);
    char *doc = s_campaign("spring", "province", "P01", "{}", 30, 31, "savings-plus",
                           "Ask about Savings Plus", false);
    a = s_req_as(w, "alice", "POST", "/v1/campaigns", doc, 201);
    free(doc);
    assert_string_equal(hbt_str(a, "state"), "draft");
    assert_int_equal(hbt_int(a, "halls"), 3); /* H001, H002 in C001; H003 in C002 */
    json_decref(a);
    s_ok_as(w, "alice", "POST", "/v1/campaigns/spring/submit", "{}", 200);
    a = s_req_as(w, "rita", "POST", "/v1/campaigns/spring/approve", "{}", 409);
    assert_string_equal(s_str(a, "error"), "check_failed");
    json_t *report = json_object_get(a, "report");
    assert_int_equal(hbt_int(json_object_get(report, "by_rule"), "faq"), 1);
    assert_string_equal(hbt_str(json_array_get(json_object_get(report, "findings"), 0), "code"),
                        "faq");
    json_decref(a);
    s_ok_as(w, "rita", "POST", "/v1/campaigns/spring/return",
            "{\"note\": \"every campaign needs an FAQ\"}", 200);
    doc = s_campaign("spring", "province", "P01", "{}", 30, 31, "savings-plus",
                     "Ask about Savings Plus", true);
    json_t *edit = json_loads(doc, 0, NULL);
    free(doc);
    json_object_del(edit, "id"); /* the path names it */
    doc = hbt_json_text(edit);
    json_decref(edit);
    a = s_req_as(w, "alice", "PUT", "/v1/campaigns/spring", doc, 200);
    free(doc);
    assert_int_equal(json_array_size(json_object_get(a, "faq")), 1);
    json_decref(a);
    s_ok_as(w, "alice", "POST", "/v1/campaigns/spring/submit", "{}", 200);
    a = s_req_as(w, "rita", "POST", "/v1/campaigns/spring/approve", "{}", 200);
    assert_string_equal(s_str(json_object_get(a, "campaign"), "state"), "approved");
    assert_true(json_is_true(json_object_get(json_object_get(a, "report"), "ok")));
    json_decref(a);
    a = s_req_as(w, "ops", "POST", "/v1/campaigns/spring/publish", "{}", 200);
    assert_int_equal(hbt_int(a, "calendar_version"), 1);
    assert_true(json_is_object(json_object_get(a, "report")));
    json_decref(a);

    /* Lists, one campaign, the export in both forms. */
    a = hbt_req(w->hq.http, "GET", "/v1/campaigns?state=published", NULL, 200);
    assert_int_equal(hbt_int(a, "total"), 1);
    assert_int_equal(hbt_int(a, "calendar_version"), 1);
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/campaigns?region=P02", NULL, 200);
    assert_int_equal(hbt_int(a, "total"), 0);
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/campaigns?region=CN&state=published", NULL, 200);
    assert_int_equal(hbt_int(a, "total"), 1);
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/campaigns/spring", NULL, 200);
    json_t *hist = json_object_get(a, "history");
    assert_int_equal(json_array_size(hist),
                     7); /* create submit return edit submit approve publish */
    assert_string_equal(hbt_str(json_array_get(hist, 2), "note"), "every campaign needs an FAQ");
    assert_string_equal(hbt_str(json_array_get(hist, 6), "by"), "ops");
    assert_true(json_is_string(json_object_get(a, "published_at")));
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/calendar/export", NULL, 200);
    json_t *c0 = json_array_get(json_object_get(a, "campaigns"), 0);
    assert_string_equal(hbt_str(c0, "state"), "published");
    assert_null(json_object_get(c0, "history")); /* the author's form */
    assert_non_null(json_object_get(c0, "faq"));
    json_decref(a);
    hb_httpc_resp_t r;
    assert_int_equal(hbt_http_raw(w->hq.http, "GET", "/v1/calendar/export?format=csv", NULL, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "id,title,level,region,parent,state,start,end,"));
    assert_non_null(strstr(r.body, "\r\nspring,spring,province,P01,,published,"));
    hb_httpc_resp_free(&r);

    /* What each hall gets: the slice HQ sends it. */
    a = hbt_req(w->hq.http, "GET", "/v1/calendar/slice/H003", NULL, 200);
    assert_int_equal(hbt_int(a, "version"), 1);
    assert_string_equal(hbt_str(json_array_get(json_object_get(a, "campaigns"), 0), "id"),
                        "spring");
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/calendar/slice/H004", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(a, "campaigns")), 0); /* another province */
    json_decref(a);
    /* A draft can go; a published campaign is withdrawn, which moves the
     * calendar again. */
    doc = s_campaign("idea", "city", "C001", "{}", 60, 5, "cards", "A card for you", true);
    s_ok_as(w, "bob", "POST", "/v1/campaigns", doc, 201);
    free(doc);
    a = hbt_req(w->hq.http, "DELETE", "/v1/campaigns/idea", NULL, 200);
    assert_true(json_is_true(json_object_get(a, "removed")));
    json_decref(a);
    s_refused(w, "GET", "/v1/campaigns/idea", NULL, 404, "not_found", "idea");
    a = s_req_as(w, "ops", "POST", "/v1/campaigns/spring/withdraw", "{\"note\": \"ended\"}", 200);
    assert_int_equal(hbt_int(a, "calendar_version"), 2);
    json_decref(a);
    /* Removing a draft policy, then again: it is gone. */
    hbt_req_ok(w->hq.http, "DELETE", "/v1/policies/halls/H001", NULL, 200);
    hbt_refused(w->hq.http, "DELETE", "/v1/policies/halls/H001", NULL, 404, "not_found",
                "no draft");
    a = hbt_req(w->hq.http, "GET", "/v1/glossary", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(a, "terms")), 1);
    json_decref(a);

    /* Everything survives HQ's restart. */
    hbt_hq_stop(&w->hq, SIGKILL);
    hbt_hq_start(&w->hq);
    a = hbt_req(w->hq.http, "GET", "/v1/campaigns/spring", NULL, 200);
    assert_string_equal(hbt_str(a, "state"), "withdrawn");
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/policies", NULL, 200);
    assert_int_equal(hbt_int(a, "version"), 1);
    assert_null(json_object_get(json_object_get(a, "drafts"), "hall/H001"));
    json_decref(a);
    a = hbt_req(w->hq.http, "GET", "/v1/org/halls/H005", NULL, 200);
    assert_string_equal(hbt_str(json_object_get(a, "hall"), "city"), "C004");
    json_decref(a);
}

/* --------------------------------------------------- the flow, hallctl */

/* One hallctl call of a flow: its arguments ("@name" stands for the file
 * name.json in the world's folder), then "--hq" and HQ's address unless
 * `no_hq`, and the token of `as` (the admin's when NULL); the exit status it
 * must end with and texts its output must hold. */
typedef struct step {
    const char *args[12];
    const char *as;
    int rc;
    const char *says[3];
    bool no_hq;
} step_t;

/* Runs `steps` in order, naming the one that fails; `out` keeps the last
 * one's output for what a test checks after. */
static void s_steps(hbt_world_t *w, char *out, size_t len, const step_t *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const step_t *s = &steps[i];
        char *argv[32] = {HALLCTL}, files[4][320];
        size_t k = 1, nf = 0;
        for (size_t a = 0; a < sizeof s->args / sizeof s->args[0] && s->args[a]; a++) {
            if (s->args[a][0] == '@' && nf < 4) {
                snprintf(files[nf], sizeof files[nf], "%s/%s.json", w->root, s->args[a] + 1);
                argv[k++] = files[nf++];
            } else {
                argv[k++] = (char *)s->args[a];
            }
        }
        if (!s->no_hq) {
            argv[k++] = "--hq";
            argv[k++] = w->hq.http;
        }
        argv[k++] = "--token";
        argv[k++] = (char *)(s->as ? s_tok(s->as) : s_admin);
        argv[k] = NULL;
        int rc = hbt_run(argv, out, len);
        if (rc != s->rc)
            fail_msg("step %zu (hallctl %s %s): exit %d, wanted %d: %.400s", i, s->args[0],
                     s->args[1] ? s->args[1] : "", rc, s->rc, out);
        for (size_t t = 0; t < sizeof s->says / sizeof s->says[0] && s->says[t]; t++)
            if (!strstr(out, s->says[t]))
                fail_msg("step %zu (hallctl %s %s): no \"%s\" in: %.400s", i, s->args[0],
                         s->args[1] ? s->args[1] : "", s->says[t], out);
    }
}

#define STEPS(w, out, rows) s_steps(w, out, sizeof out, rows, sizeof rows / sizeof rows[0])

static const step_t s_org_steps[] = {
    {.args = {"org-set", "@org"}, .says = {"6 region(s), 4 hall(s)"}},
    {.args = {"region-put", "C004", "--name", "Lakeside", "--level", "city", "--parent", "P02"}},
    {.args = {"hall-place", "H005", "--city", "C004", "--tags", "rural,flagship", "--name",
              "Pier"}},
    /* Moving a hall keeps its name and tags. */
    {.args = {"hall-place", "H005", "--city", "C003"}},
};

static const step_t s_show_steps[] = {
    {.args = {"org-show"}, .says = {"Lakeside", "7 region(s), 5 hall(s)"}},
    {.args = {"org-show", "--json"}},
};

static const step_t s_policy_steps[] = {
    {.args = {"policy-set", "national", "@national"}},
    {.args = {"policy-set", "region/NOPE", "@national"}, .rc = 1, .says = {"NOPE"}},
    {.args = {"policy-set", "province/P01", "@national"}, .rc = 2},
    {.args = {"policy-publish"}, .as = "ops", .says = {"version 1"}},
    {.args = {"policy-show"}, .says = {"national"}},
    {.args = {"policy-show", "national"}, .says = {"max_concurrent"}},
    {.args = {"policy-effective", "H002"}, .says = {"policy version 1"}},
    {.args = {"policy-effective", "H002", "--drafts"}, .says = {"from the drafts"}},
    /* The campaign uses APR, which its FAQ does not explain: the check
     * says so, approving is refused with the finding printed. */
    {.args = {"glossary-set", "@glossary"}},
    {.args = {"glossary-show"}, .says = {"APR: annual percentage rate"}},
    {.args = {"campaign-check", "@spring"}, .rc = 1, .says = {"glossary"}},
    {.args = {"campaign-create", "@spring"}, .as = "alice", .says = {"reaches 3 hall(s)"}},
    {.args = {"campaign-submit", "spring"}, .as = "alice"},
    {.args = {"campaign-approve", "spring"},
     .as = "rita",
     .rc = 1,
     .says = {"check_failed", "error    glossary"}},
    {.args = {"campaign-check"}, .rc = 1},
    {.args = {"campaign-return", "spring", "--note", "explain APR"}, .as = "rita"},
};

/* The glossary no longer lists APR: the calendar is clean. */
static const step_t s_clean_steps[] = {
    {.args = {"glossary-set", "@glossary"}},
    {.args = {"campaign-submit", "spring"}, .as = "alice"},
    {.args = {"campaign-check"}, .says = {"0 error(s)"}},
    {.args = {"campaign-approve", "spring"}, .as = "rita"},
    {.args = {"campaign-publish", "spring"}, .as = "ops", .says = {"calendar version 1"}},
    {.args = {"campaign-list", "--state", "published"}, .says = {"spring", "1 campaign(s)"}},
    {.args = {"campaign-list", "--state", "draft"}, .says = {"0 campaign(s)"}},
    {.args = {"campaign-show", "spring"}, .says = {"explain APR", "publish"}},
    {.args = {"campaign-export", "--csv"}, .says = {"spring,spring,province,P01,,published,"}},
    {.args = {"campaign-export"}},
};

static const step_t s_withdraw_steps[] = {
    {.args = {"rollout", "--halls", "10"}, .says = {"policy   version 1", "calendar version 1"}},
    {.args = {"campaign-withdraw", "spring"}, .as = "ops", .says = {"withdrawn"}},
    /* Usage errors exit 2 and name the problem; refusals exit 1. */
    /* Who acts is the token's person: --by is no option of HQ's commands. */
    {.args = {"campaign-submit", "spring", "--by", "alice"}, .rc = 2, .says = {"--by"}},
    {.args = {"region-put", "X1", "--name", "x"}, .rc = 2, .says = {"--level is required"}},
    {.args = {"org-show"}, .rc = 2, .no_hq = true},
    {.args = {"campaign-list", "--csv"}, .rc = 2},
    {.args = {"rollout", "--halls", "many"}, .rc = 2},
    {.args = {"campaign-show", "nope"}, .rc = 1, .says = {"404"}},
};

static const step_t s_bad_steps[] = {
    {.args = {"org-set", "@bad"}, .rc = 1, .says = {"duplicate"}},
    {.args = {"region-put", "C009", "--name", "x", "--level", "city", "--parent", "NOPE"},
     .rc = 1,
     .says = {"NOPE"}},
};

HBT_TEST(test_flow_hallctl)
{
    hbt_world_t *w = *state;
    char out[16384], f_org[320], f_pol[320], f_camp[320], f_gl[320], f_bad[320];
    snprintf(f_org, sizeof f_org, "%s/org.json", w->root);
    snprintf(f_pol, sizeof f_pol, "%s/national.json", w->root);
    snprintf(f_camp, sizeof f_camp, "%s/spring.json", w->root);
    snprintf(f_gl, sizeof f_gl, "%s/glossary.json", w->root);
    snprintf(f_bad, sizeof f_bad, "%s/bad.json", w->root);
    hbt_write_file(f_org, s_org);
    hbt_write_file(f_pol, "{\"timezone\": \"UTC\", \"campaigns\": {\"max_concurrent\": 2}}");
    hbt_write_file(
        f_gl, "{\"terms\": [{\"term\": \"APR\", \"definition\": \"annual percentage rate\"}]}");
    char *doc = s_campaign("spring", "province", "P01", "{}", 30, 31, "savings-plus",
                           "Save more with a better APR", true);
    hbt_write_file(f_camp, doc);
    free(doc);

    STEPS(w, out, s_org_steps);
    json_t *a = hbt_req(w->hq.http, "GET", "/v1/org/halls/H005", NULL, 200);
    assert_string_equal(hbt_str(json_object_get(a, "hall"), "city"), "C003");
    assert_string_equal(hbt_str(json_object_get(a, "hall"), "name"), "Pier");
    assert_int_equal(json_array_size(json_object_get(json_object_get(a, "hall"), "tags")), 2);
    json_decref(a);
    STEPS(w, out, s_show_steps);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j); /* --json prints the answer as it came */
    assert_int_equal(json_array_size(json_object_get(j, "halls")), 5);
    json_decref(j);

    STEPS(w, out, s_policy_steps);
    hbt_write_file(f_gl, "{\"terms\": [{\"term\": \"ISA\"}]}");
    STEPS(w, out, s_clean_steps);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "campaigns")), 1);
    json_decref(j);
    STEPS(w, out, s_withdraw_steps);
    hbt_write_file(f_bad, "{\"regions\": [], \"regions\": []}");
    STEPS(w, out, s_bad_steps);
}

/* -------------------------------------------------- bad documents ---- */

/* What a GET of every control-plane document says, as one text. */
static char *s_snapshot(hbt_world_t *w)
{
    const char *paths[] = {"/v1/org",       "/v1/policies",
                           "/v1/campaigns", "/v1/calendar/export",
                           "/v1/glossary",  "/v1/org/halls/H001"};
    json_t *all = json_object();
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        json_t *a = hbt_req(w->hq.http, "GET", paths[i], NULL, 200);
        json_object_del(a, "exported_at");
        json_object_set_new(all, paths[i], a);
    }
    char *text = hbt_json_text(all);
    json_decref(all);
    return text;
}

HBT_TEST(test_bad_documents)
{
    hbt_world_t *w = *state;
    s_ok(w, "PUT", "/v1/org", s_org, 200);
    s_ok(w, "PUT", "/v1/policies/national", "{\"timezone\": \"UTC\"}", 200);
    s_ok(w, "POST", "/v1/policies/publish", "{}", 200);
    s_ok(w, "PUT", "/v1/glossary", "{\"terms\": [{\"term\": \"APR\"}]}", 200);
    char *good = s_campaign("base", "province", "P01", "{}", 30, 10, "savings", "Hello", true);
    s_ok_as(w, "alice", "POST", "/v1/campaigns", good, 201);
    s_ok_as(w, "alice", "POST", "/v1/campaigns/base/submit", "{}", 200);
    char *before = s_snapshot(w);

    /* Documents built to be wrong in one way each. */
    json_t *k = json_loads(good, 0, NULL);
    json_object_set_new(k, "id", json_string("fresh"));
    char *fresh = hbt_json_text(k);
    json_t *v;
#define VARIANT(name, member, value)                                                               \
    v = json_deep_copy(k);                                                                         \
    json_object_set_new(v, member, value);                                                         \
    char *name = hbt_json_text(v);                                                                 \
    json_decref(v)
    VARIANT(c_unknown, "colour", json_string("red"));
    VARIANT(c_no_hall, "scope", json_pack("{s:[s]}", "tags", "nonexistent"));
    VARIANT(c_ghost_hall, "scope", json_pack("{s:[s]}", "halls", "H999"));
    VARIANT(c_outside, "scope", json_pack("{s:[s]}", "halls", "H004"));
    VARIANT(c_parent, "parent", json_string("ghost"));
    char *huge = hbt_repeat('x', 2001);
    VARIANT(c_oversized, "texts", json_pack("{s:s}", "kiosk", huge));
    VARIANT(c_type, "start", json_integer(20270301));
    VARIANT(c_level, "level", json_string("city")); /* owner P01 is a province */
    VARIANT(c_channel, "channels", json_pack("[s]", "radio"));
    VARIANT(c_by, "by", json_string("alice")); /* who acts is never the document's to say */
    /* Dates reversed: the end the day before the start. */
    char day_before[11];
    s_date(29, day_before);
    VARIANT(c_reversed, "end", json_string(day_before));
#undef VARIANT
    char *long_name = hbt_repeat('n', 201);
    char region_long[512];
    snprintf(region_long, sizeof region_long,
             "{\"name\": \"%s\", \"level\": \"city\", \"parent\": \"P01\"}", long_name);
    char *big_term = hbt_repeat('t', 101);
    char glossary_long[256];
    snprintf(glossary_long, sizeof glossary_long, "{\"terms\": [{\"term\": \"%s\"}]}", big_term);
    /* A body over hqd's max_body (1 MiB). */
    char *body_huge = hbt_repeat(' ', (1u << 20) + 100);
    body_huge[0] = '{';
    body_huge[(1u << 20) + 98] = '}';

    struct {
        const char *method, *path, *body;
        int status;
        const char *code, *want;
    } cases[] = {
        /* unknown members */
        {"POST", "/v1/campaigns", c_unknown, 400, "bad_document", "colour"},
        {"PUT", "/v1/org", "{\"regions\": [], \"halls\": [], \"zones\": []}", 400, "bad_document",
         "zones"},
        {"PUT", "/v1/org/regions/C009",
         "{\"name\": \"x\", \"level\": \"city\", \"parent\": \"P01\", \"mayor\": \"x\"}", 400,
         "bad_document", "mayor"},
        {"PUT", "/v1/org/halls/H009", "{\"city\": \"C001\", \"floor\": 2}", 400, "bad_document",
         "floor"},
        {"PUT", "/v1/policies/national", "{\"colour\": \"blue\"}", 400, "bad_document", "colour"},
        {"PUT", "/v1/glossary", "{\"terms\": [], \"extra\": 1}", 400, "bad_document",
         "must be {\"terms\""},
        {"POST", "/v1/campaigns/base/return", "{\"why\": \"x\"}", 400, "bad_request", "why"},
        /* A publishing note is text (DASHBOARD.md: publish with a note). */
        {"POST", "/v1/policies/publish", "{\"note\": 5}", 400, "bad_request", "note"},
        {"POST", "/v1/policies/publish", "{\"why\": \"x\"}", 400, "bad_request", "why"},
        /* dates reversed */
        {"POST", "/v1/campaigns", c_reversed, 400, "bad_document", "end"},
        {"PUT", "/v1/policies/halls/H001",
         "{\"closures\": {\"works\": {\"from\": \"2027-01-10\", \"to\": \"2027-01-09\"}}}", 400,
         "bad_document", "closures.works.to"},
        /* a scope that reaches no hall, or names one that is not there */
        {"POST", "/v1/campaigns", c_no_hall, 400, "bad_document", "scope.tags"},
        {"POST", "/v1/campaigns", c_ghost_hall, 400, "bad_document", "H999"},
        {"POST", "/v1/campaigns", c_outside, 400, "bad_document", "outside"},
        {"POST", "/v1/calendar/check", c_no_hall, 400, "bad_document", "scope.tags"},
        /* unknown parents */
        {"POST", "/v1/campaigns", c_parent, 400, "bad_document", "ghost"},
        {"PUT", "/v1/org/regions/C009",
         "{\"name\": \"x\", \"level\": \"city\", \"parent\": \"P9\"}", 400, "bad_document", "P9"},
        {"PUT", "/v1/org/halls/H009", "{\"city\": \"C999\"}", 400, "bad_document", "C999"},
        /* oversized text */
        {"POST", "/v1/campaigns", c_oversized, 400, "bad_document", "texts.kiosk"},
        {"PUT", "/v1/org/regions/C009", region_long, 400, "bad_document", "name"},
        {"PUT", "/v1/glossary", glossary_long, 400, "bad_document", "term"},
        {"PUT", "/v1/glossary", body_huge, 413, "too_large", "bytes"},
        /* bad policy values */
        {"PUT", "/v1/policies/national", "{\"diversion\": {\"threshold\": 0}}", 400, "bad_document",
         "diversion.threshold"},
        {"PUT", "/v1/policies/national", "{\"sla\": {\"max_wait_s\": {\"A:vip\": 0}}}", 400,
         "bad_document", "sla.max_wait_s.A:vip"},
        {"PUT", "/v1/policies/national", "{\"diversion\": {\"echannels\": [\"pigeon\"]}}", 400,
         "bad_document", "echannels"},
        {"PUT", "/v1/policies/national", "{\"timezone\": \"Mars/Olympus\"}", 400, "bad_document",
         "timezone"},
        {"PUT", "/v1/policies/national", "{\"opening_hours\": {\"mon\": [\"17:00-09:00\"]}}", 400,
         "bad_document", "opening_hours.mon"},
        {"PUT", "/v1/policies/national", "{\"campaigns\": {\"max_concurrent\": 1000}}", 400,
         "bad_document", "campaigns.max_concurrent"},
        /* policies for scopes that are not there */
        {"PUT", "/v1/policies/regions/NOPE", "{}", 404, "not_found", "NOPE"},
        {"PUT", "/v1/policies/halls/H999", "{}", 404, "not_found", "H999"},
        {"PUT", "/v1/policies/regions/CN", "{}", 400, "bad_document", "national"},
        {"DELETE", "/v1/policies/regions/NOPE", NULL, 404, "not_found", "NOPE"},
        {"GET", "/v1/policies/regions/NOPE", NULL, 404, "not_found", "NOPE"},
        /* wrong JSON types */
        {"PUT", "/v1/org", "{\"regions\": \"CN\", \"halls\": []}", 400, "bad_document", "regions"},
        {"POST", "/v1/campaigns", c_type, 400, "bad_document", "start"},
        {"POST", "/v1/campaigns", c_level, 400, "bad_document", "region"},
        {"POST", "/v1/campaigns", c_channel, 400, "bad_document", "channels[0]"},
        {"PUT", "/v1/policies/national", "{\"diversion\": []}", 400, "bad_document", "diversion"},
        {"PUT", "/v1/policies/national", "[]", 400, "bad_request", "an array"},
        {"POST", "/v1/campaigns/base/approve", "{\"by\": 5}", 400, "bad_request", "by"},
        {"POST", "/v1/policies/publish", "{\"by\": [\"ops\"]}", 400, "bad_request", "by"},
        {"POST", "/v1/policies/publish", "{\"by\": \"ops\"}", 400, "bad_request", "by"},
        {"POST", "/v1/campaigns", c_by, 400, "bad_document", "by"},
        {"PUT", "/v1/glossary", "{\"terms\": [{\"term\": 7}]}", 400, "bad_document", "term"},
        /* broken JSON */
        {"PUT", "/v1/org", "{", 400, "bad_json", "not valid JSON"},
        {"PUT", "/v1/org", "{\"regions\": [], \"regions\": []}", 400, "bad_json", "duplicate"},
        {"PUT", "/v1/org", "{} trailing", 400, "bad_json", "not valid JSON"},
        {"PUT", "/v1/org", "\"just a string\"", 400, "bad_json", "not valid JSON"},
        {"PUT", "/v1/org", "", 400, "bad_request", "empty"},
        {"PUT", "/v1/glossary", "{\"terms\": [{\"term\": \"a\\u0000b\"}]}", 400, "bad_json",
         "not valid JSON"},
        {"POST", "/v1/campaigns", "{\"id\": \"x\xff\"}", 400, "bad_json", "not valid JSON"},
        /* ids and parameters */
        {"PUT", "/v1/org/halls/H001", "{\"id\": \"H002\", \"city\": \"C001\"}", 400, "bad_request",
         "H002"},
        {"PUT", "/v1/org/halls/bad!id", "{\"city\": \"C001\"}", 400, "bad_request", "hall id"},
        {"PUT", "/v1/campaigns/base", fresh, 400, "bad_request", "fresh"},
        {"POST", "/v1/campaigns?by=alice", fresh, 400, "bad_parameter", "by"},
        {"PUT", "/v1/campaigns/base?by=alice", good, 400, "bad_parameter", "by"},
        {"POST", "/v1/campaigns?by=no%20spaces", fresh, 400, "bad_parameter", "by"},
        {"GET", "/v1/policies/effective/H001?drafts=maybe", NULL, 400, "bad_parameter", "drafts"},
        {"GET", "/v1/campaigns?state=finished", NULL, 400, "bad_parameter", "state"},
        {"GET", "/v1/campaigns?region=NOPE", NULL, 400, "bad_parameter", "region"},
        {"GET", "/v1/calendar/export?format=xml", NULL, 400, "bad_parameter", "format"},
        /* states, ids taken, things that are not there */
        {"POST", "/v1/campaigns", good, 409, "exists", "base"},
        {"PUT", "/v1/campaigns/base", good, 409, "wrong_state", "draft"},
        {"DELETE", "/v1/campaigns/base", NULL, 409, "wrong_state", "draft"},
        {"POST", "/v1/campaigns/base/publish", "{}", 409, "wrong_state", "approved"},
        {"POST", "/v1/campaigns/base/frobnicate", "{}", 404, "not_found", "submit, return"},
        {"POST", "/v1/campaigns/nope/submit", "{}", 404, "not_found", "nope"},
        {"GET", "/v1/org/halls/H999", NULL, 404, "not_found", "H999"},
        {"GET", "/v1/policies/effective/H999", NULL, 404, "not_found", "H999"},
        {"GET", "/v1/calendar/slice/H001", NULL, 404, "not_found", "published"},
        {"GET", "/v1/org/extra", NULL, 404, "not_found", "/v1/org/extra"},
        {"DELETE", "/v1/org", NULL, 405, "method_not_allowed", "DELETE"},
        /* an organisation that would leave the campaign's owner out */
        {"PUT", "/v1/org",
         "{\"regions\": [{\"id\": \"CN\", \"name\": \"x\", \"level\": \"national\"}], \"halls\": "
         "[]}",
         409, "wrong_state", "base"},
    };
    /* Every case is tried before the test fails, so one run names them all. */
    size_t wrong = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *a = NULL;
        int status = hbt_http(w->hq.http, cases[i].method, cases[i].path, cases[i].body, &a);
        if (status != cases[i].status || strcmp(hbt_str(a, "error"), cases[i].code) != 0 ||
            !strstr(hbt_str(a, "reason"), cases[i].want)) {
            print_error("case %zu, %s %s: %d %s \"%s\", wanted %d %s naming \"%s\"\n", i,
                        cases[i].method, cases[i].path, status, hbt_str(a, "error"),
                        hbt_str(a, "reason"), cases[i].status, cases[i].code, cases[i].want);
            wrong++;
        }
        json_decref(a);
    }
    assert_int_equal(wrong, 0);

    /* Nothing of it was kept, and HQ is still well. */
    char *after = s_snapshot(w);
    assert_string_equal(before, after);
    assert_true(hbt_alive(&w->hq.proc));
    free(before);
    free(after);
    free(good);
    free(fresh);
    free(c_unknown);
    free(c_reversed);
    free(c_no_hall);
    free(c_ghost_hall);
    free(c_outside);
    free(c_parent);
    free(c_oversized);
    free(c_type);
    free(c_level);
    free(c_channel);
    free(c_by);
    free(huge);
    free(long_name);
    free(big_term);
    free(body_huge);
    json_decref(k);
}

/* ------------------------------------------ several findings at once ---- */

HBT_TEST(test_findings_at_once)
{
    hbt_world_t *w = *state;
    hbt_req_ok(w->hq.http, "PUT", "/v1/org", s_org, 200);
    /* Two campaigns at once per hall; lead days 7 (the default). */
    s_ok(w, "PUT", "/v1/policies/national", "{\"campaigns\": {\"max_concurrent\": 2}}", 200);
    s_ok(w, "POST", "/v1/policies/publish", "{}", 200);
    s_ok(w, "PUT", "/v1/glossary", "{\"terms\": [{\"term\": \"APR\"}]}", 200);
    /* A: the province's, without an FAQ and with jargon; B: the province's
     * again on the same product over C001; C: a city campaign over C001
     * naming neither. On the days all three run, H001 and H002 have three. */
    struct {
        const char *id, *level, *region, *scope, *product, *text;
        int start, days;
        bool faq;
    } cs[] = {
        {"a-savings", "province", "P01", "{}", "savings", "A better APR", 30, 31, false},
        {"b-savings", "province", "P01", "{\"regions\": [\"C001\"]}", "savings", "Save", 40, 31,
         true},
        {"c-cards", "city", "C001", "{}", "cards", "A new card", 35, 16, true},
    };
    for (size_t i = 0; i < 3; i++) {
        char *doc = s_campaign(cs[i].id, cs[i].level, cs[i].region, cs[i].scope, cs[i].start,
                               cs[i].days, cs[i].product, cs[i].text, cs[i].faq);
        s_ok_as(w, "alice", "POST", "/v1/campaigns", doc, 201);
        free(doc);
        char path[96];
        snprintf(path, sizeof path, "/v1/campaigns/%s/submit", cs[i].id);
        s_ok_as(w, "alice", "POST", path, "{}", 200);
    }
    /* And a candidate, not stored, that starts in two days. */
    char *cand = s_campaign("d-loans", "province", "P02", "{}", 2, 5, "loans", "Loans", true);
    json_t *r = hbt_req(w->hq.http, "POST", "/v1/calendar/check", cand, 200);
    free(cand);
    json_t *by = json_object_get(r, "by_rule");
    const char *rules[] = {"faq",          "concurrency", "product",
                           "city_overlap", "glossary",    "lead_time"};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (hbt_int(by, rules[i]) < 1)
            fail_msg("no %s finding in %s", rules[i], hbt_json_text(r));
    assert_false(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(hbt_int(r, "checked"), 4);
    assert_true(hbt_int(r, "errors") >= 5);
    assert_true(hbt_int(r, "warnings") >= 1); /* the city overlap: a warning by default */
    size_t i;
    json_t *f;
    bool saw_concurrency = false;
    json_array_foreach (json_object_get(r, "findings"), i, f) {
        /* Each names its campaigns, halls and days. */
        assert_true(json_array_size(json_object_get(f, "campaigns")) >= 1);
        assert_true(json_is_object(json_object_get(f, "halls")));
        assert_true(json_is_string(json_object_get(json_object_get(f, "days"), "first")));
        assert_true(strlen(hbt_str(f, "message")) > 0);
        if (strcmp(hbt_str(f, "code"), "concurrency") == 0) {
            saw_concurrency = true;
            assert_int_equal(json_array_size(json_object_get(f, "campaigns")), 3);
            assert_int_equal(hbt_int(json_object_get(f, "halls"), "count"), 2);
            assert_string_equal(hbt_str(f, "severity"), "error");
        }
        if (strcmp(hbt_str(f, "code"), "lead_time") == 0)
            assert_string_equal(
                json_string_value(json_array_get(json_object_get(f, "campaigns"), 0)), "d-loans");
    }
    assert_true(saw_concurrency);
    json_decref(r);
    /* The candidate was only checked. */
    r = hbt_req(w->hq.http, "GET", "/v1/campaigns", NULL, 200);
    assert_int_equal(hbt_int(r, "total"), 3);
    json_decref(r);
    /* Without it, the same findings less the lead time; through hallctl,
     * one line per finding, and exit 1. */
    r = hbt_req(w->hq.http, "POST", "/v1/calendar/check", NULL, 200);
    assert_int_equal(hbt_int(json_object_get(r, "by_rule"), "lead_time"), 0);
    size_t n = json_array_size(json_object_get(r, "findings"));
    json_decref(r);
    char out[16384];
    static const step_t check = {.args = {"campaign-check"}, .rc = 1};
    s_steps(w, out, sizeof out, &check, 1);
    size_t lines = 0;
    for (const char *p = out; (p = strstr(p, " hall(s)  ")); p++)
        lines++;
    assert_int_equal(lines, n);
    assert_non_null(strstr(out, "concurrency"));
    assert_non_null(strstr(out, "warning  city_overlap"));
    /* Approving A is refused for its findings; B is blocked too. */
    s_refused_as(w, "rita", "POST", "/v1/campaigns/a-savings/approve", "{}", 409, "check_failed",
                 "a-savings");
    s_refused_as(w, "rita", "POST", "/v1/campaigns/b-savings/approve", "{}", 409, "check_failed",
                 "b-savings");
}
