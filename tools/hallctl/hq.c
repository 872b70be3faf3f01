/* hallctl's commands for the head office's control plane (docs/API.md):
 * the organisation, policies, campaigns and their coordination check, the
 * glossary and the rollout. A document comes from a file, read strictly
 * here (a member twice is refused, as HQ would) and sent re-encoded; HQ
 * judges what it says. */
#include "hallctl.h"

#include "hallbus/time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------- the head office's control plane ---- */

/* The organisation, policies, campaigns, the glossary and the rollout,
 * over hqd's control-plane API (docs/API.md). A document comes from a file,
 * read strictly here (a member twice is refused, as HQ would) and sent
 * re-encoded; HQ judges what it says. */

#define HQ_FILE_MAX ((long)16 << 20) /* a document file, bytes */

/* The JSON document in `file`; EXIT_FAILED (said) when it cannot be read. */
static int s_hq_read_doc(const opts_t *o, const char *file, json_t **out)
{
    struct stat st;
    if (stat(file, &st) != 0) {
        fprintf(stderr, "hallctl %s: cannot read %s: %s\n", o->command, file, strerror(errno));
        return EXIT_FAILED;
    }
    if (st.st_size > HQ_FILE_MAX) {
        fprintf(stderr, "hallctl %s: %s is larger than %ld bytes\n", o->command, file, HQ_FILE_MAX);
        return EXIT_FAILED;
    }
    json_error_t jerr;
    *out = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out) {
        fprintf(stderr, "hallctl %s: %s is not a JSON document: %s (line %d, column %d)\n",
                o->command, file, jerr.text, jerr.line, jerr.column);
        return EXIT_FAILED;
    }
    return 0;
}

/* The check's findings, one a line: severity, rule, campaigns, halls,
 * days, message. */
static void s_hq_print_report(const json_t *r)
{
    printf("calendar check: %lld error(s), %lld warning(s) over %lld campaign(s)%s\n",
           hallctl_jint(r, "errors"), hallctl_jint(r, "warnings"), hallctl_jint(r, "checked"),
           hallctl_jint(r, "dropped") ? "; some findings only counted" : "");
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(r, "findings"), i, f) {
        char camps[512];
        const json_t *days = json_object_get(f, "days");
        printf("%-7s  %-12s  %-24s  %5lld hall(s)  %s..%s  %s\n", hallctl_jstr(f, "severity"),
               hallctl_jstr(f, "code"), hallctl_jlist(f, "campaigns", ",", camps, sizeof camps),
               hallctl_jint(json_object_get(f, "halls"), "count"), hallctl_jstr(days, "first"),
               hallctl_jstr(days, "last"), hallctl_jstr(f, "message"));
    }
}

/* After a refusal: the check's findings, when a step was refused for them. */
static void s_hq_print_refused_report(const opts_t *o, const json_t *a)
{
    (void)o;
    if (json_is_object(json_object_get(a, "report")))
        s_hq_print_report(json_object_get(a, "report"));
}

/* One request to HQ's API, its answer printed (hallctl_do). */
static int s_hq_do(const opts_t *o, const char *method, const char *path, json_t *body,
                   hallctl_print_fn print)
{
    return hallctl_do(o, o->hq, "--hq", "HQ", method, path, body, print, s_hq_print_refused_report);
}

/* Sends the document in `file` as the body of `method path`. */
static int s_hq_send_file(const opts_t *o, const char *method, const char *path, const char *file,
                          hallctl_print_fn print)
{
    json_t *doc;
    int rc = s_hq_read_doc(o, file, &doc);
    return rc != 0 ? rc : s_hq_do(o, method, path, doc, print);
}

/* ---- organisation */

static void s_hq_print_region(const json_t *regions, const json_t *halls, const json_t *r,
                              int depth)
{
    const char *id = hallctl_jstr(r, "id");
    size_t n = 0, i;
    json_t *v;
    json_array_foreach (halls, i, v) {
        if (strcmp(hallctl_jstr(v, "city"), id) == 0)
            n++;
    }
    printf("%*s%-12s %-9s %s", depth * 2, "", id, hallctl_jstr(r, "level"),
           hallctl_jstr(r, "name"));
    if (strcmp(hallctl_jstr(r, "level"), "city") == 0)
        printf("  (%zu hall%s)", n, n == 1 ? "" : "s");
    printf("\n");
    if (depth >= 2)
        return; /* cities have no regions under them */
    json_array_foreach (regions, i, v) {
        if (strcmp(hallctl_jstr(v, "parent"), id) == 0)
            s_hq_print_region(regions, halls, v, depth + 1);
    }
}

static void s_hq_print_org(const opts_t *o, const json_t *a)
{
    (void)o;
    const json_t *regions = json_object_get(a, "regions"), *halls = json_object_get(a, "halls");
    size_t i;
    json_t *v;
    json_array_foreach (regions, i, v) {
        if (!json_object_get(v, "parent"))
            s_hq_print_region(regions, halls, v, 0);
    }
    printf("%zu region(s), %zu hall(s)\n", json_array_size(regions), json_array_size(halls));
    json_array_foreach (halls, i, v) {
        char tags[512];
        printf("  %-12s %-12s %-30s %s\n", hallctl_jstr(v, "id"), hallctl_jstr(v, "city"),
               hallctl_jstr(v, "name"), hallctl_jlist(v, "tags", ",", tags, sizeof tags));
    }
}

static void s_hq_print_org_set(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("organisation set: %lld region(s), %lld hall(s)\n", hallctl_jint(a, "regions"),
           hallctl_jint(a, "halls"));
}

static void s_hq_print_region_put(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("region %s  %s %s%s%s\n", hallctl_jstr(a, "id"), hallctl_jstr(a, "level"),
           hallctl_jstr(a, "name"), json_object_get(a, "parent") ? ", under " : "",
           hallctl_jstr(a, "parent"));
}

static void s_hq_print_hall_put(const opts_t *o, const json_t *a)
{
    (void)o;
    char tags[512];
    printf("hall %s  in %s%s%s, tags %s\n", hallctl_jstr(a, "id"), hallctl_jstr(a, "city"),
           json_object_get(a, "name") ? ", " : "", hallctl_jstr(a, "name"),
           json_array_size(json_object_get(a, "tags"))
               ? hallctl_jlist(a, "tags", ",", tags, sizeof tags)
               : "none");
}

static int s_hq_org_show(const opts_t *o)
{
    return s_hq_do(o, "GET", "/v1/org", NULL, s_hq_print_org);
}

static int s_hq_org_set(const opts_t *o)
{
    return s_hq_send_file(o, "PUT", "/v1/org", o->args[0], s_hq_print_org_set);
}

static int s_hq_region_put(const opts_t *o)
{
    const hallctl_member_t m[] = {{"id", o->args[0], "ID", M_STR},
                                  {"name", o->name, "--name", M_STR},
                                  {"level", o->level, "--level", M_STR},
                                  {"parent", o->parent, "--parent", M_STR}};
    return hallctl_send_to(o, s_hq_do, "PUT", "/v1/org/regions/", o->args[0], "", m, NMEMBERS(m),
                           s_hq_print_region_put);
}

/* hall-place keeps what it is not given: the name, tags and neighbours the
 * hall already has, so that moving a hall does not forget them. */
static int s_hq_hall_place(const opts_t *o)
{
    char path[API_PATH_MAX];
    json_t *body = NULL;
    const hallctl_member_t m[] = {{"id", o->args[0], "HALL", M_STR},
                                  {"city", o->city, "--city", M_STR},
                                  {"name", o->name, "--name", M_STR}};
    int rc = hallctl_path(o, path, sizeof path, "/v1/org/halls/", o->args[0], "");
    if (rc == 0)
        rc = hallctl_body(o, m, NMEMBERS(m), &body);
    if (rc != 0)
        return rc;
    if (o->tags) {
        /* An empty --tags clears them, which a member list cannot say. */
        const hallctl_member_t t = {"tags", o->tags, "--tags", M_LIST};
        rc = o->tags[0] ? hallctl_member(o, body, &t)
                        : json_object_set_new(body, "tags", json_array());
        if (rc != 0) {
            json_decref(body);
            return rc;
        }
    }
    int status = 0;
    json_t *have = NULL;
    rc = hallctl_request(o, o->hq, "--hq", "GET", path, NULL, &status, &have);
    if (rc != 0) {
        json_decref(body);
        return rc;
    }
    const json_t *old = status == 200 ? json_object_get(have, "hall") : NULL;
    const char *keep[] = {"name", "tags", "neighbours"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (!json_object_get(body, keep[i]) && json_object_get(old, keep[i]))
            json_object_set(body, keep[i], json_object_get(old, keep[i]));
    json_decref(have);
    return s_hq_do(o, "PUT", path, body, s_hq_print_hall_put);
}

/* ---- policies */

/* The API path of SCOPE (national, region/ID or hall/ID); EXIT_USAGE
 * (said) when it is none of them. */
static int s_hq_scope_path(const opts_t *o, const char *scope, char *path, size_t len)
{
    if (strcmp(scope, "national") == 0) {
        snprintf(path, len, "/v1/policies/national");
        return 0;
    }
    if (strncmp(scope, "region/", 7) == 0 && scope[7])
        return hallctl_path(o, path, len, "/v1/policies/regions/", scope + 7, "");
    if (strncmp(scope, "hall/", 5) == 0 && scope[5])
        return hallctl_path(o, path, len, "/v1/policies/halls/", scope + 5, "");
    fprintf(stderr, "hallctl %s: SCOPE is national, region/ID or hall/ID, not '%s'\n", o->command,
            scope);
    return EXIT_USAGE;
}

static void s_hq_print_policy_set(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("draft policy of %s set; policy-publish makes the drafts the next version\n",
           hallctl_jstr(a, "scope"));
}

static void s_hq_print_policies(const opts_t *o, const json_t *a)
{
    (void)o;
    if (hallctl_jint(a, "version") > 0)
        printf("policy version %lld, published %s by %s\n", hallctl_jint(a, "version"),
               hallctl_jstr(a, "published_at"), hallctl_jstr(a, "published_by"));
    else
        printf("no policy version published yet\n");
    const json_t *drafts = json_object_get(a, "drafts"), *pub = json_object_get(a, "published");
    printf("  %-40s %-6s %s\n", "SCOPE", "DRAFT", "PUBLISHED");
    const char *scope;
    json_t *d;
    json_object_foreach ((json_t *)drafts, scope, d) {
        const json_t *p = json_object_get(pub, scope);
        printf("  %-40s %-6s %s%s\n", scope, "set", p ? "set" : "-",
               p && !json_equal(p, d) ? " (the draft differs)" : "");
    }
    json_object_foreach ((json_t *)pub, scope, d) {
        if (!json_object_get(drafts, scope))
            printf("  %-40s %-6s %s (the draft was removed)\n", scope, "-", "set");
    }
}

static void s_hq_print_scope(const opts_t *o, const json_t *a)
{
    (void)o;
    const char *parts[] = {"draft", "published"};
    printf("%s (policy version %lld)\n", hallctl_jstr(a, "scope"), hallctl_jint(a, "version"));
    for (int i = 0; i < 2; i++) {
        printf("%s:\n", parts[i]);
        if (json_is_object(json_object_get(a, parts[i])))
            hallctl_print_json(json_object_get(a, parts[i]));
        else
            printf("  none\n");
    }
}

static void s_hq_print_effective(const opts_t *o, const json_t *a)
{
    char scopes[512];
    printf("hall %s%s, ", hallctl_jstr(a, "hall"),
           json_is_true(json_object_get(a, "placed")) ? "" : " (not placed: national only)");
    if (o->drafts)
        printf("from the drafts");
    else
        printf("policy version %lld", hallctl_jint(a, "version"));
    printf(": the defaults%s%s\n", json_array_size(json_object_get(a, "scopes")) ? " + " : "",
           hallctl_jlist(a, "scopes", " + ", scopes, sizeof scopes));
    hallctl_print_json(json_object_get(a, "policy"));
}

static void s_hq_print_published(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("published policy version %lld (%s, by %s)\n", hallctl_jint(a, "version"),
           hallctl_jstr(a, "published_at"), hallctl_jstr(a, "published_by"));
}

static int s_hq_policy_set(const opts_t *o)
{
    char path[API_PATH_MAX];
    int rc = s_hq_scope_path(o, o->args[0], path, sizeof path);
    return rc != 0 ? rc : s_hq_send_file(o, "PUT", path, o->args[1], s_hq_print_policy_set);
}

static int s_hq_policy_show(const opts_t *o)
{
    char path[API_PATH_MAX];
    if (!o->n_args)
        return s_hq_do(o, "GET", "/v1/policies", NULL, s_hq_print_policies);
    int rc = s_hq_scope_path(o, o->args[0], path, sizeof path);
    return rc != 0 ? rc : s_hq_do(o, "GET", path, NULL, s_hq_print_scope);
}

static int s_hq_policy_effective(const opts_t *o)
{
    return hallctl_send_to(o, s_hq_do, "GET", "/v1/policies/effective/", o->args[0],
                           o->drafts ? "?drafts=1" : "", NULL, 0, s_hq_print_effective);
}

/* Who publishes, creates or steps is whoever the token is (HQ takes it
 * from the credentials): no --by on these commands. */
static int s_hq_policy_publish(const opts_t *o)
{
    return s_hq_do(o, "POST", "/v1/policies/publish", json_object(), s_hq_print_published);
}

/* ---- campaigns */

static void s_hq_print_created(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("campaign %s  %s, revision %lld, reaches %lld hall(s)\n", hallctl_jstr(a, "id"),
           hallctl_jstr(a, "state"), hallctl_jint(a, "revision"), hallctl_jint(a, "halls"));
}

static void s_hq_print_step(const opts_t *o, const json_t *a)
{
    (void)o;
    const json_t *c = json_object_get(a, "campaign");
    printf("campaign %s  %s, revision %lld; calendar version %lld\n", hallctl_jstr(c, "id"),
           hallctl_jstr(c, "state"), hallctl_jint(c, "revision"),
           hallctl_jint(a, "calendar_version"));
    if (json_is_object(json_object_get(a, "report")))
        s_hq_print_report(json_object_get(a, "report"));
}

static void s_hq_print_campaigns(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("%-24s %-10s %-11s %-10s %-10s %-10s %6s  %s\n", "ID", "STATE", "LEVEL", "REGION",
           "START", "END", "HALLS", "TITLE");
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(a, "campaigns"), i, c) {
        char halls[24] = "-";
        if (json_is_integer(json_object_get(c, "halls")))
            snprintf(halls, sizeof halls, "%lld", hallctl_jint(c, "halls"));
        printf("%-24s %-10s %-11s %-10s %-10s %-10s %6s  %s\n", hallctl_jstr(c, "id"),
               hallctl_jstr(c, "state"), hallctl_jstr(c, "level"), hallctl_jstr(c, "region"),
               hallctl_jstr(c, "start"), hallctl_jstr(c, "end"), halls, hallctl_jstr(c, "title"));
    }
    printf("%lld campaign(s); calendar version %lld\n", hallctl_jint(a, "total"),
           hallctl_jint(a, "calendar_version"));
}

static void s_hq_print_campaign(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("%s  %s\n  %s campaign of %s%s%s, %s to %s, reaches %lld hall(s)\n  %s, revision "
           "%lld\n",
           hallctl_jstr(a, "id"), hallctl_jstr(a, "title"), hallctl_jstr(a, "level"),
           hallctl_jstr(a, "region"), json_object_get(a, "parent") ? ", under " : "",
           hallctl_jstr(a, "parent"), hallctl_jstr(a, "start"), hallctl_jstr(a, "end"),
           hallctl_jint(a, "halls"), hallctl_jstr(a, "state"), hallctl_jint(a, "revision"));
    const char *key;
    json_t *v;
    printf("texts:\n");
    json_object_foreach (json_object_get(a, "texts"), key, v)
        printf("  %s: %s\n", key, json_string_value(v) ? json_string_value(v) : "");
    size_t i;
    printf("faq:\n");
    json_array_foreach (json_object_get(a, "faq"), i, v)
        printf("  Q: %s\n  A: %s\n", hallctl_jstr(v, "question"), hallctl_jstr(v, "answer"));
    printf("history:\n");
    json_array_foreach (json_object_get(a, "history"), i, v) {
        char at[HB_RFC3339_MAX];
        hb_time_format((int64_t)hallctl_jint(v, "at_ms"), at);
        printf("  %s  %-8s %-9s -> %-9s by %s%s%s%s\n", at, hallctl_jstr(v, "action"),
               hallctl_jstr(v, "from"), hallctl_jstr(v, "to"), hallctl_jstr(v, "by"),
               json_object_get(v, "note") ? ": \"" : "", hallctl_jstr(v, "note"),
               json_object_get(v, "note") ? "\"" : "");
    }
}

static void s_hq_print_check(const opts_t *o, const json_t *a)
{
    (void)o;
    s_hq_print_report(a);
}

static int s_hq_campaign_create(const opts_t *o)
{
    return s_hq_send_file(o, "POST", "/v1/campaigns", o->args[0], s_hq_print_created);
}

/* campaign-submit .. campaign-withdraw: the step is the command's name
 * after "campaign-". */
static int s_hq_campaign_step(const opts_t *o)
{
    char step[32];
    snprintf(step, sizeof step, "/%s", o->command + strlen("campaign-"));
    const hallctl_member_t m[] = {{"note", o->note, "--note", M_STR}};
    return hallctl_send_to(o, s_hq_do, "POST", "/v1/campaigns/", o->args[0], step, m, NMEMBERS(m),
                           s_hq_print_step);
}

static int s_hq_campaign_list(const opts_t *o)
{
    if (!o->state)
        return s_hq_do(o, "GET", "/v1/campaigns", NULL, s_hq_print_campaigns);
    return hallctl_send_to(o, s_hq_do, "GET", "/v1/campaigns?state=", o->state, "", NULL, 0,
                           s_hq_print_campaigns);
}

static int s_hq_campaign_show(const opts_t *o)
{
    return hallctl_send_to(o, s_hq_do, "GET", "/v1/campaigns/", o->args[0], "", NULL, 0,
                           s_hq_print_campaign);
}

/* campaign-check exits 1 when the calendar has errors, as a linter does,
 * so that a script can gate on it. */
static int s_hq_campaign_check(const opts_t *o)
{
    json_t *doc = NULL;
    if (o->n_args) {
        int rc = s_hq_read_doc(o, o->args[0], &doc);
        if (rc != 0)
            return rc;
    }
    int status = 0;
    json_t *a = NULL;
    int rc = hallctl_request(o, o->hq, "--hq", "POST", "/v1/calendar/check", doc, &status, &a);
    json_decref(doc);
    if (rc != 0)
        return rc;
    if (status != 200 || !a) {
        hallctl_print_refusal(o, status, a);
        json_decref(a);
        return EXIT_FAILED;
    }
    if (o->json)
        hallctl_print_json(a);
    else
        s_hq_print_check(o, a);
    rc = hallctl_jint(a, "errors") > 0 ? EXIT_FAILED : 0;
    json_decref(a);
    return rc;
}

/* The export as HQ sent it: JSON, or with --csv the CSV text. */
static int s_hq_campaign_export(const opts_t *o)
{
    hb_httpc_resp_t r;
    const char *path = o->csv ? "/v1/calendar/export?format=csv" : "/v1/calendar/export";
    int rc = hallctl_call(o, o->hq, "--hq", "GET", path, NULL, &r);
    if (rc != 0)
        return rc;
    json_t *a = o->csv && r.status == 200 ? NULL : json_loadb(r.body, r.body_len, 0, NULL);
    if (r.status != 200)
        hallctl_print_refusal(o, r.status, a);
    else if (o->csv)
        fwrite(r.body, 1, r.body_len, stdout);
    else if (a)
        hallctl_print_json(a);
    rc = r.status == 200 && (o->csv || a) ? 0 : EXIT_FAILED;
    json_decref(a);
    hb_httpc_resp_free(&r);
    return rc;
}

/* ---- glossary and rollout */

static void s_hq_print_glossary(const opts_t *o, const json_t *a)
{
    size_t i;
    json_t *t;
    if (strcmp(o->command, "glossary-show") == 0) {
        json_array_foreach (json_object_get(a, "terms"), i, t) {
            const char *def = json_string_value(json_object_get(t, "definition"));
            printf("%s%s%s\n", hallctl_jstr(t, "term"), def ? ": " : "", def ? def : "");
        }
    }
    printf("glossary: %zu term(s)\n", json_array_size(json_object_get(a, "terms")));
}

static void s_hq_print_rollout(const opts_t *o, const json_t *a)
{
    (void)o;
    const char *kinds[] = {"policy", "calendar"};
    const char *groups[] = {"applied", "pending", "offline", "refused"};
    for (int k = 0; k < 2; k++) {
        const json_t *r = json_object_get(a, kinds[k]);
        printf("%-8s version %lld: %lld hall(s): %lld applied, %lld pending, %lld offline, %lld "
               "refused\n",
               kinds[k], hallctl_jint(r, "version"), hallctl_jint(r, "halls"),
               hallctl_jint(r, "applied"), hallctl_jint(r, "pending"), hallctl_jint(r, "offline"),
               hallctl_jint(r, "refused"));
        for (int g = 0; g < 4; g++) {
            char key[32], list[4096];
            snprintf(key, sizeof key, "%s_halls", groups[g]);
            if (json_array_size(json_object_get(r, key)))
                printf("  %s: %s\n", groups[g], hallctl_jlist(r, key, " ", list, sizeof list));
        }
    }
}

static int s_hq_glossary_set(const opts_t *o)
{
    return s_hq_send_file(o, "PUT", "/v1/glossary", o->args[0], s_hq_print_glossary);
}

static int s_hq_glossary_show(const opts_t *o)
{
    return s_hq_do(o, "GET", "/v1/glossary", NULL, s_hq_print_glossary);
}

static int s_hq_rollout(const opts_t *o)
{
    char path[API_PATH_MAX];
    long long n = 0;
    if (!o->halls)
        return s_hq_do(o, "GET", "/v1/rollout", NULL, s_hq_print_rollout);
    if (!hallctl_parse_int(o->halls, &n) || n < 0 || n > 100000) {
        fprintf(stderr, "hallctl %s: --halls must be a whole number from 0 to 100000, not '%s'\n",
                o->command, o->halls);
        return EXIT_USAGE;
    }
    snprintf(path, sizeof path, "/v1/rollout?halls=%lld", n);
    return s_hq_do(o, "GET", path, NULL, s_hq_print_rollout);
}

/* ---- alerts that reach people */

static void s_hq_print_sub(const opts_t *o, const json_t *s)
{
    (void)o;
    char kinds[512];
    printf("%-20s %-14s %-16s kinds %s, from %s%s, %zu channel(s)\n", hallctl_jstr(s, "id"),
           hallctl_jstr(s, "role"), hallctl_jstr(s, "scope"),
           json_object_get(s, "kinds") ? hallctl_jlist(s, "kinds", ",", kinds, sizeof kinds) : "*",
           json_object_get(s, "min_severity") ? hallctl_jstr(s, "min_severity") : "info",
           json_is_true(json_object_get(s, "escalated")) ? ", escalated only" : "",
           json_array_size(json_object_get(s, "channels")));
}

static void s_hq_print_subs(const opts_t *o, const json_t *a)
{
    hallctl_print_each(o, a, "subscriptions", s_hq_print_sub);
}

/* PUT /v1/notify/subscriptions/{the document's id}: adds or replaces. */
static int s_hq_subscription_set(const opts_t *o)
{
    json_t *doc;
    int rc = s_hq_read_doc(o, o->args[0], &doc);
    if (rc != 0)
        return rc;
    const char *id = json_string_value(json_object_get(doc, "id"));
    char path[API_PATH_MAX];
    rc = id ? hallctl_path(o, path, sizeof path, "/v1/notify/subscriptions/", id, "") : EXIT_USAGE;
    if (!id)
        fprintf(stderr, "hallctl %s: %s names no \"id\"\n", o->command, o->args[0]);
    if (rc != 0) {
        json_decref(doc);
        return rc;
    }
    return s_hq_do(o, "PUT", path, doc, s_hq_print_sub);
}

static int s_hq_subscription_list(const opts_t *o)
{
    return s_hq_do(o, "GET", "/v1/notify/subscriptions", NULL, s_hq_print_subs);
}

static void s_hq_print_done(const opts_t *o, const json_t *a)
{
    (void)o;
    (void)a;
    printf("done\n");
}

static int s_hq_subscription_remove(const opts_t *o)
{
    return hallctl_send_to(o, s_hq_do, "DELETE", "/v1/notify/subscriptions/", o->args[0], "", NULL,
                           0, s_hq_print_done);
}

static void s_hq_print_ack(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("alert %lld acknowledged by %s at %s\n", hallctl_jint(a, "alert"), hallctl_jstr(a, "by"),
           hallctl_jstr(a, "at"));
}

static int s_hq_alert_ack(const opts_t *o)
{
    const hallctl_member_t m[] = {{"note", o->note, "--note", M_STR}};
    return hallctl_send_to(o, s_hq_do, "POST", "/v1/alerts/", o->args[0], "/ack", m, NMEMBERS(m),
                           s_hq_print_ack);
}

static void s_hq_print_silence(const opts_t *o, const json_t *s)
{
    (void)o;
    char kinds[512];
    printf("silence %-5lld %-16s kinds %s%s until %s: %s (%s)\n", hallctl_jint(s, "id"),
           hallctl_jstr(s, "scope"), hallctl_jlist(s, "kinds", ",", kinds, sizeof kinds),
           json_is_integer(json_object_get(s, "alert")) ? ", one alert," : "",
           hallctl_jstr(s, "until"), hallctl_jstr(s, "reason"), hallctl_jstr(s, "by"));
}

static void s_hq_print_silences(const opts_t *o, const json_t *a)
{
    hallctl_print_each(o, a, "silences", s_hq_print_silence);
}

/* SCOPE (or one alert with --alert) silenced until --until for --reason. */
static int s_hq_silence_add(const opts_t *o)
{
    const hallctl_member_t m[] = {{"scope", o->args[0], "SCOPE", M_STR},
                                  {"kinds", o->kinds, "--kinds", M_LIST},
                                  {"until", o->until, "--until", M_STR},
                                  {"reason", o->reason, "--reason", M_STR}};
    return hallctl_send_members(o, s_hq_do, "POST", "/v1/notify/silences", m, NMEMBERS(m),
                                s_hq_print_silence);
}

static int s_hq_alert_silence(const opts_t *o)
{
    const hallctl_member_t m[] = {{"until", o->until, "--until", M_STR},
                                  {"reason", o->reason, "--reason", M_STR}};
    return hallctl_send_to(o, s_hq_do, "POST", "/v1/alerts/", o->args[0], "/silence", m,
                           NMEMBERS(m), s_hq_print_silence);
}

static int s_hq_silence_list(const opts_t *o)
{
    return s_hq_do(o, "GET", "/v1/notify/silences", NULL, s_hq_print_silences);
}

static int s_hq_silence_remove(const opts_t *o)
{
    return hallctl_send_to(o, s_hq_do, "DELETE", "/v1/notify/silences/", o->args[0], "", NULL, 0,
                           s_hq_print_done);
}

static void s_hq_print_deliveries(const opts_t *o, const json_t *a)
{
    (void)o;
    size_t i;
    json_t *d;
    json_array_foreach (json_object_get(a, "deliveries"), i, d) {
        printf("%s  alert %-6lld %-16s %-12s %-8s try %lld %s%s%s\n", hallctl_jstr(d, "at"),
               hallctl_jint(d, "alert"), hallctl_jstr(d, "subscription"), hallctl_jstr(d, "type"),
               hallctl_jstr(d, "level"), hallctl_jint(d, "attempt"),
               json_is_true(json_object_get(d, "ok"))
                   ? "sent"
                   : (json_is_true(json_object_get(d, "final")) ? "given up: " : "failed: "),
               hallctl_jstr(d, "error"), "");
    }
}

static int s_hq_deliveries(const opts_t *o)
{
    char path[API_PATH_MAX] = "/v1/notify/deliveries?limit=1000";
    int rc = 0;
    if (o->alert) {
        long long id;
        if (!hallctl_parse_int(o->alert, &id) || id < 1) {
            fprintf(stderr, "hallctl %s: --alert must be an alert id\n", o->command);
            return EXIT_USAGE;
        }
        snprintf(path, sizeof path, "/v1/notify/deliveries?limit=1000&alert=%lld", id);
    }
    return rc != 0 ? rc : s_hq_do(o, "GET", path, NULL, s_hq_print_deliveries);
}

const hallctl_command_t hallctl_hq_commands[] = {
    {"org-show", s_hq_org_show, "org-show --hq URL", "the region tree and the hall registry", "hq",
     "hq", 0, 0, NULL},
    {"org-set", s_hq_org_set, "org-set FILE --hq URL",
     "replace the whole organisation with the document in FILE", "hq", "hq", 1, 1,
     "a document file"},
    {"region-put", s_hq_region_put,
     "region-put ID --name N --level national|province|city [--parent P] --hq URL",
     "add a region, or rename one", "hq name level parent", "hq name level", 1, 1, "a region id"},
    {"hall-place", s_hq_hall_place, "hall-place HALL --city C [--tags a,b] [--name N] --hq URL",
     "enrol a hall in a city, or move it (its name, tags and neighbours stay unless given)",
     "hq city tags name", "hq city", 1, 1, "a hall id"},
    {"policy-set", s_hq_policy_set, "policy-set SCOPE FILE --hq URL",
     "set the draft policy of SCOPE (national, region/ID or hall/ID)", "hq", "hq", 2, 2,
     "a scope and a document file"},
    {"policy-show", s_hq_policy_show, "policy-show [SCOPE] --hq URL",
     "the draft and published policies, or one scope's documents", "hq", "hq", 0, 1, NULL},
    {"policy-effective", s_hq_policy_effective, "policy-effective HALL [--drafts] --hq URL",
     "a hall's effective policy, published or with the drafts", "hq drafts", "hq", 1, 1,
     "a hall id"},
    {"policy-publish", s_hq_policy_publish, "policy-publish --hq URL",
     "publish the drafts as the next policy version (as the token's person)", "hq", "hq", 0, 0,
     NULL},
    {"campaign-create", s_hq_campaign_create, "campaign-create FILE --hq URL",
     "add the campaign document in FILE as a draft", "hq", "hq", 1, 1, "a document file"},
    {"campaign-submit", s_hq_campaign_step, "campaign-submit ID [--note T] --hq URL",
     "submit a draft for review", "hq note", "hq", 1, 1, "a campaign id"},
    {"campaign-return", s_hq_campaign_step, "campaign-return ID [--note T] --hq URL",
     "return a submitted campaign to its author", "hq note", "hq", 1, 1, "a campaign id"},
    {"campaign-approve", s_hq_campaign_step, "campaign-approve ID [--note T] --hq URL",
     "approve a submitted campaign; the coordination check must find no error naming it, and "
     "its author or last editor may not (four eyes)",
     "hq note", "hq", 1, 1, "a campaign id"},
    {"campaign-publish", s_hq_campaign_step, "campaign-publish ID [--note T] --hq URL",
     "publish an approved campaign to its halls (checked again; four eyes)", "hq note", "hq", 1, 1,
     "a campaign id"},
    {"campaign-withdraw", s_hq_campaign_step, "campaign-withdraw ID [--note T] --hq URL",
     "withdraw an approved or published campaign", "hq note", "hq", 1, 1, "a campaign id"},
    {"campaign-list", s_hq_campaign_list, "campaign-list [--state S] --hq URL",
     "the campaigns (state draft, submitted, approved, published, withdrawn)", "hq state", "hq", 0,
     0, NULL},
    {"campaign-show", s_hq_campaign_show, "campaign-show ID --hq URL",
     "one campaign: its texts, FAQ and history", "hq", "hq", 1, 1, "a campaign id"},
    {"campaign-check", s_hq_campaign_check, "campaign-check [FILE] --hq URL",
     "the coordination check's findings, with the campaign in FILE as if submitted; exits 1 "
     "when there are errors",
     "hq", "hq", 0, 1, NULL},
    {"campaign-export", s_hq_campaign_export, "campaign-export [--csv] --hq URL",
     "every campaign with its state, as JSON or CSV", "hq csv", "hq", 0, 0, NULL},
    {"glossary-set", s_hq_glossary_set, "glossary-set FILE --hq URL",
     "replace the glossary of jargon", "hq", "hq", 1, 1, "a document file"},
    {"glossary-show", s_hq_glossary_show, "glossary-show --hq URL", "the glossary of jargon", "hq",
     "hq", 0, 0, NULL},
    {"rollout", s_hq_rollout, "rollout [--halls N] --hq URL",
     "how many halls run the newest policy and calendar versions (with N hall ids per group)",
     "hq halls", "hq", 0, 0, NULL},
    {"subscription-set", s_hq_subscription_set, "subscription-set FILE --hq URL",
     "add or replace the alert subscription in FILE (who is told of which alerts, and how)", "hq",
     "hq", 1, 1, "a document file"},
    {"subscription-list", s_hq_subscription_list, "subscription-list --hq URL",
     "the alert subscriptions", "hq", "hq", 0, 0, NULL},
    {"subscription-remove", s_hq_subscription_remove, "subscription-remove ID --hq URL",
     "remove an alert subscription", "hq", "hq", 1, 1, "a subscription id"},
    {"alert-ack", s_hq_alert_ack, "alert-ack ID [--note T] --hq URL",
     "acknowledge an open alert (as the token's person): it escalates no further", "hq note", "hq",
     1, 1, "an alert id"},
    {"alert-silence", s_hq_alert_silence, "alert-silence ID --until TIME --reason R --hq URL",
     "send an open alert to nobody until TIME", "hq until reason", "hq until reason", 1, 1,
     "an alert id"},
    {"silence-add", s_hq_silence_add,
     "silence-add SCOPE [--kinds a,b] --until TIME --reason R --hq URL",
     "send the alerts of SCOPE (network, region/ID, hall/ID) to nobody until TIME",
     "hq kinds until reason", "hq until reason", 1, 1, "a scope"},
    {"silence-list", s_hq_silence_list, "silence-list --hq URL", "the silences not yet over", "hq",
     "hq", 0, 0, NULL},
    {"silence-remove", s_hq_silence_remove, "silence-remove ID --hq URL", "end a silence now", "hq",
     "hq", 1, 1, "a silence id"},
    {"deliveries", s_hq_deliveries, "deliveries [--alert ID] --hq URL",
     "alert deliveries attempted, newest first", "hq alert", "hq", 0, 0, NULL},
};
const size_t hallctl_hq_ncommands = sizeof hallctl_hq_commands / sizeof hallctl_hq_commands[0];
