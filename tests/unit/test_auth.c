/* HQ's access control below HTTP, on real LMDB files: the role table, names
 * and scopes; the auth store (people, tokens, sessions, the generation that
 * moves with every change of people or tokens, seen through a second handle
 * as `hqd users` in another process would make it, last uses, the audit
 * log's pages and pruning); scope views over an organisation (the whole
 * network, a region, a hall, and what a policy scope is to them); and when
 * a credential has ended. The guard over HTTP is test_access_hq's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

#include "auth_int.h"
#include "authdb.h"
#include "ident.h"
#include "org.h"
#include "roles.h"

#include "hallbus/error.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[HBT_FIXTURE_DIR];
    hq_authdb_t *db;
} fx_t;

static int s_setup(void **state)
{
    fx_t *f = hbt_fixture_new(sizeof *f, "auth-unit");
    char err[256];
    assert_int_equal(hq_authdb_open(f->dir, &f->db, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fx_t *f = *state;
    hq_authdb_close(&f->db);
    hbt_fixture_free(f);
    return 0;
}

static hq_person_t s_person(const char *name, hq_role_t role, const char *scope)
{
    hq_person_t p = {.n_grants = 1, .created_ms = 1};
    snprintf(p.name, sizeof p.name, "%s", name);
    assert_int_equal(hq_scope_parse(scope, &p.grants[0]), 0);
    p.grants[0].role = (uint8_t)role;
    return p;
}

static uint64_t s_gen(hq_authdb_t *db)
{
    uint64_t g = 0;
    assert_int_equal(hq_authdb_generation(db, &g), 0);
    return g;
}

/* ------------------------------------------------ roles, names, scopes */

static void test_roles_names_scopes(void **state)
{
    (void)state;
    for (int r = 0; r < HQ_ROLE_COUNT; r++) {
        assert_true((hq_role_perms(r) >> HB_PERM_SELF) & 1); /* everyone can say who they are */
        hq_role_t back;
        assert_int_equal(hq_role_parse(hq_role_name(r), &back), 0);
        assert_int_equal(back, r);
        assert_false((hq_role_perms(r) >> HB_PERM_PUBLIC) & 1);
        assert_false((hq_role_perms(r) >> HB_PERM_TICKET_ISSUE) & 1); /* the hall's, not HQ's */
    }
    hq_role_t r;
    assert_int_equal(hq_role_parse("boss", &r), HB_ENOTFOUND);
    assert_int_equal(hq_role_parse(NULL, &r), HB_ENOTFOUND);
    char text[256];
    hq_roles_granting(HB_PERM_CAMPAIGN_APPROVE, text, sizeof text);
    assert_string_equal(text, "admin, reviewer");
    hq_roles_granting(HB_PERM_ADMIN, text, sizeof text);
    assert_string_equal(text, "admin");
    hq_roles_list(text, sizeof text);
    assert_string_equal(
        text, "admin, operator, marketer, reviewer, policy_editor, analyst, viewer, booking");
    /* An app's backend books and does nothing else. */
    assert_int_equal(hq_role_perms(HQ_ROLE_BOOKING),
                     HQ_PERM_BIT(APPOINTMENT_BOOK) | HQ_PERM_BIT(SELF));
    hq_roles_granting(HB_PERM_APPOINTMENT_BOOK, text, sizeof text);
    assert_string_equal(text, "admin, booking");
    /* Only the admin may change the organisation; a viewer only reads the
     * board. */
    assert_false((hq_role_perms(HQ_ROLE_OPERATOR) >> HB_PERM_ADMIN) & 1);
    assert_int_equal(hq_role_perms(HQ_ROLE_VIEWER), HQ_PERM_BIT(LIVE_READ) | HQ_PERM_BIT(SELF));

    assert_true(hq_auth_name_ok("alice"));
    assert_true(hq_auth_name_ok("a.b@bank.example"));
    assert_false(hq_auth_name_ok(""));
    assert_false(hq_auth_name_ok("a b"));
    assert_false(hq_auth_name_ok("a/b"));
    char long_name[80];
    memset(long_name, 'n', 65);
    long_name[65] = '\0';
    assert_false(hq_auth_name_ok(long_name));
    long_name[64] = '\0';
    assert_true(hq_auth_name_ok(long_name));
    assert_true(hq_auth_token_name_ok("ci.nightly"));
    assert_false(hq_auth_token_name_ok("ci@x"));

    hq_grant_t g;
    const struct {
        const char *text;
        int rc, kind;
        const char *id;
    } scopes[] = {
        {"network", 0, HQ_SCOPE_NETWORK, ""},
        {"all", 0, HQ_SCOPE_NETWORK, ""},
        {"region/P01", 0, HQ_SCOPE_REGION, "P01"},
        {"hall/H-7", 0, HQ_SCOPE_HALL, "H-7"},
        {"P01", HB_EINVAL, 0, NULL},
        {"region/", HB_EINVAL, 0, NULL},
        {"region/a b", HB_EINVAL, 0, NULL},
        {"city/C001", HB_EINVAL, 0, NULL},
        {"hall/H1/x", HB_EINVAL, 0, NULL},
    };
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
        int rc = hq_scope_parse(scopes[i].text, &g);
        if (rc != scopes[i].rc)
            fail_msg("scope '%s': %d, wanted %d", scopes[i].text, rc, scopes[i].rc);
        if (rc == 0) {
            assert_int_equal(g.kind, scopes[i].kind);
            assert_string_equal(g.id, scopes[i].id);
            char back[HQ_AUTH_SCOPE_TEXT_MAX];
            hq_scope_format(&g, back, sizeof back);
            assert_string_equal(back,
                                strcmp(scopes[i].text, "all") == 0 ? "network" : scopes[i].text);
        }
    }
    /* Secrets: a prefix and 43 base64url characters, a new one each time;
     * the stored hash is the same for the same secret only. */
    char s1[HQ_AUTH_SECRET_MAX], s2[HQ_AUTH_SECRET_MAX];
    hq_auth_secret_new("hqt_", s1);
    hq_auth_secret_new("hqt_", s2);
    assert_int_equal(strlen(s1), 47);
    assert_int_equal(
        strspn(s1 + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_string_not_equal(s1, s2);
    uint8_t h1[HQ_AUTH_HASH], h1b[HQ_AUTH_HASH], h2[HQ_AUTH_HASH];
    hq_auth_hash(s1, h1);
    hq_auth_hash(s1, h1b);
    hq_auth_hash(s2, h2);
    assert_memory_equal(h1, h1b, HQ_AUTH_HASH);
    assert_memory_not_equal(h1, h2, HQ_AUTH_HASH);
}

/* ------------------------------------------------------- the store */

static void test_people_and_tokens(void **state)
{
    fx_t *f = *state;
    char err[256], secret[HQ_AUTH_SECRET_MAX];
    uint64_t g0 = s_gen(f->db);
    hq_person_t alice = s_person("alice", HQ_ROLE_MARKETER, "region/C001");
    assert_int_equal(hq_authdb_person_add(f->db, &alice, err, sizeof err), 0);
    assert_int_equal(s_gen(f->db), g0 + 1);
    assert_int_equal(hq_authdb_person_add(f->db, &alice, err, sizeof err), HB_EEXIST);
    hq_person_t none = {.n_grants = 0};
    snprintf(none.name, sizeof none.name, "nobody");
    assert_int_equal(hq_authdb_person_add(f->db, &none, err, sizeof err), HB_EINVAL);
    hq_person_t got;
    assert_int_equal(hq_authdb_person_get(f->db, "alice", &got), 0);
    assert_int_equal(got.n_grants, 1);
    assert_int_equal(got.grants[0].kind, HQ_SCOPE_REGION);
    assert_string_equal(got.grants[0].id, "C001");
    assert_int_equal(hq_authdb_person_get(f->db, "bob", &got), HB_ENOTFOUND);

    /* A token: shown once, found by its hash with its person. */
    assert_int_equal(hq_authdb_token_add(f->db, "alice", "first", 0, secret, err, sizeof err), 0);
    assert_int_equal(s_gen(f->db), g0 + 2);
    uint8_t hash[HQ_AUTH_HASH];
    hq_auth_hash(secret, hash);
    hq_token_t tok;
    assert_int_equal(hq_authdb_token_get(f->db, hash, &tok, &got), 0);
    assert_string_equal(tok.person, "alice");
    assert_string_equal(tok.name, "first");
    assert_string_equal(got.name, "alice");
    char again[HQ_AUTH_SECRET_MAX];
    assert_int_equal(hq_authdb_token_add(f->db, "alice", "first", 0, again, err, sizeof err),
                     HB_EEXIST);
    assert_int_equal(hq_authdb_token_add(f->db, "bob", "x", 0, again, err, sizeof err),
                     HB_ENOTFOUND);
    /* The last use, written lazily. */
    hq_touch_t t = {.session = false, .at_ms = 12345};
    memcpy(t.hash, hash, HQ_AUTH_HASH);
    uint64_t g = s_gen(f->db);
    assert_int_equal(hq_authdb_touch(f->db, &t, 1), 0);
    assert_int_equal(s_gen(f->db), g); /* not a change of who may do what */
    assert_int_equal(hq_authdb_token_get(f->db, hash, &tok, NULL), 0);
    assert_int_equal(tok.last_used_ms, 12345);
    /* Revoked: gone at once. */
    assert_int_equal(hq_authdb_token_revoke(f->db, "alice", "first"), 0);
    assert_int_equal(hq_authdb_token_get(f->db, hash, &tok, NULL), HB_ENOTFOUND);
    assert_int_equal(hq_authdb_token_revoke(f->db, "alice", "first"), HB_ENOTFOUND);
    assert_int_equal(s_gen(f->db), g + 1);
    /* At most HQ_AUTH_TOKENS_MAX live tokens a person. */
    for (int i = 0; i < HQ_AUTH_TOKENS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        assert_int_equal(hq_authdb_token_add(f->db, "alice", name, 0, again, err, sizeof err), 0);
    }
    assert_int_equal(hq_authdb_token_add(f->db, "alice", "one-more", 0, again, err, sizeof err),
                     HB_ETOOBIG);

    /* Another handle on the same store, as `hqd users` in another process:
     * its change moves the generation the first reads. */
    hq_authdb_t *other = NULL;
    assert_int_equal(hq_authdb_open(f->dir, &other, err, sizeof err), 0);
    g = s_gen(f->db);
    hq_person_t bob = s_person("bob", HQ_ROLE_VIEWER, "network");
    assert_int_equal(hq_authdb_person_add(other, &bob, err, sizeof err), 0);
    assert_int_equal(s_gen(f->db), g + 1);
    assert_int_equal(hq_authdb_person_get(f->db, "bob", &got), 0);

    /* Sessions: added without moving the generation; a new password or a
     * removal ends them. */
    hq_session_t ses;
    char ssecret[HQ_AUTH_SECRET_MAX];
    g = s_gen(f->db);
    assert_int_equal(hq_authdb_session_add(f->db, "bob", "10.0.0.1", 1000, ssecret, &ses), 0);
    assert_int_equal(s_gen(f->db), g);
    assert_int_equal(strncmp(ssecret, "hqs_", 4), 0);
    assert_int_equal(strlen(ses.csrf), 43);
    uint8_t shash[HQ_AUTH_HASH];
    hq_auth_hash(ssecret, shash);
    hq_session_t back;
    assert_int_equal(hq_authdb_session_get(f->db, shash, &back, &got), 0);
    assert_string_equal(back.csrf, ses.csrf);
    assert_string_equal(back.from, "10.0.0.1");
    assert_int_equal(hq_authdb_sessions_count(f->db, "bob"), 1);
    assert_int_equal(hq_authdb_person_set_password(other, "bob", "$argon2id$fake"), 0);
    assert_int_equal(hq_authdb_session_get(f->db, shash, &back, NULL), HB_ENOTFOUND);
    assert_int_equal(hq_authdb_person_get(f->db, "bob", &got), 0);
    assert_string_equal(got.pwhash, "$argon2id$fake");
    /* Idle and too old sessions are pruned; a recent one stays. */
    char s2[HQ_AUTH_SECRET_MAX], s3[HQ_AUTH_SECRET_MAX];
    assert_int_equal(hq_authdb_session_add(f->db, "bob", "", 1000, s2, &ses), 0);
    assert_int_equal(hq_authdb_session_add(f->db, "bob", "", 90000, s3, &ses), 0);
    size_t removed = 0;
    assert_int_equal(hq_authdb_sessions_prune(f->db, 100000, 60000, 3600000, &removed), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(hq_authdb_sessions_count(f->db, "bob"), 1);
    assert_int_equal(hq_authdb_sessions_prune(f->db, 100000 + 3600000, 7200000, 3600000, &removed),
                     0);
    assert_int_equal(removed, 1); /* past the absolute end, however busy */
    /* Removing a person removes their tokens and sessions. */
    assert_int_equal(hq_authdb_token_add(f->db, "bob", "laptop", 0, secret, err, sizeof err), 0);
    assert_int_equal(hq_authdb_session_add(f->db, "bob", "", 1000, ssecret, &ses), 0);
    assert_int_equal(hq_authdb_person_remove(other, "bob"), 0);
    hq_auth_hash(secret, hash);
    hq_auth_hash(ssecret, shash);
    assert_int_equal(hq_authdb_token_get(f->db, hash, &tok, NULL), HB_ENOTFOUND);
    assert_int_equal(hq_authdb_session_get(f->db, shash, &back, NULL), HB_ENOTFOUND);
    assert_int_equal(hq_authdb_person_remove(other, "bob"), HB_ENOTFOUND);
    hq_authdb_close(&other);
}

typedef struct page {
    json_t *got;
    size_t limit;
} page_t;

static int s_collect(json_t *rec, void *arg)
{
    page_t *p = arg;
    json_array_append_new(p->got, rec);
    return json_array_size(p->got) >= p->limit;
}

static void test_audit_log(void **state)
{
    fx_t *f = *state;
    /* 25 records, at 1000, 2000, ... ms. */
    json_t *recs[25];
    for (int i = 0; i < 25; i++)
        recs[i] = json_pack("{s:I, s:i}", "at_ms", (json_int_t)((i + 1) * 1000), "n", i);
    assert_int_equal(hq_authdb_audit_append(f->db, recs, 25), 0);
    for (int i = 0; i < 25; i++)
        json_decref(recs[i]);
    assert_int_equal(hq_authdb_audit_count(f->db), 25);
    /* Pages of 10, newest first, following the cursor. */
    char next[HQ_AUDIT_CURSOR_MAX] = "";
    int expect = 24, pages = 0;
    do {
        page_t p = {.got = json_array(), .limit = 10};
        char before[HQ_AUDIT_CURSOR_MAX];
        snprintf(before, sizeof before, "%s", next);
        assert_int_equal(hq_authdb_audit_walk(f->db, before, 0, 1000, s_collect, &p, next), 0);
        size_t i;
        json_t *r;
        json_array_foreach (p.got, i, r) {
            assert_int_equal(json_integer_value(json_object_get(r, "n")), expect--);
            assert_int_equal(strlen(json_string_value(json_object_get(r, "id"))), 32);
        }
        json_decref(p.got);
        pages++;
    } while (next[0]);
    assert_int_equal(pages, 3);
    assert_int_equal(expect, -1);
    /* From a time: records older end the walk. */
    page_t p = {.got = json_array(), .limit = 100};
    assert_int_equal(hq_authdb_audit_walk(f->db, NULL, 20000, 1000, s_collect, &p, next), 0);
    assert_int_equal(json_array_size(p.got), 6); /* 20000 .. 25000 */
    assert_string_equal(next, "");
    json_decref(p.got);
    /* The scan budget: a page may stop short, with a cursor to go on. */
    p = (page_t){.got = json_array(), .limit = 100};
    assert_int_equal(hq_authdb_audit_walk(f->db, NULL, 0, 5, s_collect, &p, next), 0);
    assert_int_equal(json_array_size(p.got), 5);
    assert_true(next[0]);
    json_decref(p.got);
    p = (page_t){.got = json_array(), .limit = 1};
    assert_int_equal(hq_authdb_audit_walk(f->db, next, 0, 5, s_collect, &p, next), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(p.got, 0), "n")), 19);
    json_decref(p.got);
    assert_int_equal(hq_authdb_audit_walk(f->db, "xyz", 0, 5, s_collect, &p, next), HB_EINVAL);
    /* Pruning: by age, then down to a count, oldest first. */
    size_t deleted = 0;
    assert_int_equal(hq_authdb_audit_prune(f->db, 5500, 1000, 100, &deleted), 0);
    assert_int_equal(deleted, 5);
    assert_int_equal(hq_authdb_audit_prune(f->db, 0, 12, 100, &deleted), 0);
    assert_int_equal(deleted, 8);
    assert_int_equal(hq_authdb_audit_count(f->db), 12);
    p = (page_t){.got = json_array(), .limit = 100};
    assert_int_equal(hq_authdb_audit_walk(f->db, NULL, 0, 1000, s_collect, &p, next), 0);
    assert_int_equal(json_array_size(p.got), 12);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(p.got, 11), "n")), 13);
    json_decref(p.got);
}

/* ----------------------------------------------------------- views */

static const char s_org_doc[] =
    "{\"regions\": [{\"id\": \"CN\", \"name\": \"x\", \"level\": \"national\"},"
    " {\"id\": \"P01\", \"name\": \"x\", \"level\": \"province\", \"parent\": \"CN\"},"
    " {\"id\": \"P02\", \"name\": \"x\", \"level\": \"province\", \"parent\": \"CN\"},"
    " {\"id\": \"C001\", \"name\": \"x\", \"level\": \"city\", \"parent\": \"P01\"},"
    " {\"id\": \"C002\", \"name\": \"x\", \"level\": \"city\", \"parent\": \"P01\"},"
    " {\"id\": \"C003\", \"name\": \"x\", \"level\": \"city\", \"parent\": \"P02\"}],"
    " \"halls\": [{\"id\": \"H1\", \"city\": \"C001\"}, {\"id\": \"H2\", \"city\": \"C002\"},"
    " {\"id\": \"H3\", \"city\": \"C003\"}]}";

static void test_views(void **state)
{
    (void)state;
    json_t *doc = json_loads(s_org_doc, 0, NULL);
    org_t *org = NULL;
    char err[256];
    assert_int_equal(org_from_json(doc, &org, err, sizeof err), 0);
    json_decref(doc);
    uint8_t cred[HQ_AUTH_HASH] = {1};

    /* A province's operator: its cities and halls, and the path above. */
    hq_person_t p = s_person("pat", HQ_ROLE_OPERATOR, "region/P01");
    hq_ident_t *id = hq_ident_new(&p, HQ_CRED_TOKEN, cred);
    assert_true(hq_ident_has(id, HB_PERM_LIVE_READ));
    assert_false(hq_ident_has(id, HB_PERM_POLICY_EDIT));
    const hq_view_t *v = hq_ident_view(id, HB_PERM_LIVE_READ, org, 1);
    assert_non_null(v);
    assert_false(v->all);
    assert_true(hq_view_hall(v, org, "H1"));
    assert_true(hq_view_hall(v, org, "H2"));
    assert_false(hq_view_hall(v, org, "H3"));
    assert_false(hq_view_hall(v, org, "H9")); /* not placed: the network's only */
    assert_true(hq_view_region(v, org, "P01"));
    assert_true(hq_view_region(v, org, "C002"));
    assert_false(hq_view_region(v, org, "CN"));
    assert_false(hq_view_region(v, org, "C003"));
    assert_true(hq_view_above_at(v, (int32_t)org_region_find(org, "CN")->index));
    assert_false(hq_view_above_at(v, (int32_t)org_region_find(org, "P02")->index));
    assert_true(hq_view_hall_at(v, (int32_t)org_hall_find(org, "H1")->index));
    assert_false(hq_view_hall_at(v, -1));
    /* A permission not held: a view with nothing in it. */
    v = hq_ident_view(id, HB_PERM_ADMIN, org, 1);
    assert_false(v->all || hq_view_hall(v, org, "H1") || hq_view_region(v, org, "P01"));
    char where[128];
    hq_ident_where(id, HB_PERM_LIVE_READ, where, sizeof where);
    assert_string_equal(where, "region/P01");
    hq_ident_where(id, HB_PERM_ADMIN, where, sizeof where);
    assert_string_equal(where, "nowhere");
    hq_ident_unref(&id);
    assert_null(id);

    /* One hall: that hall, no region, the path above it. */
    p = s_person("hal", HQ_ROLE_POLICY_EDITOR, "hall/H2");
    id = hq_ident_new(&p, HQ_CRED_SESSION, cred);
    v = hq_ident_view(id, HB_PERM_POLICY_EDIT, org, 1);
    assert_true(hq_view_hall(v, org, "H2"));
    assert_false(hq_view_hall(v, org, "H1"));
    assert_false(hq_view_region(v, org, "C002"));
    /* Policy scopes: a hall's own document; the national and the regions
     * above are read, never changed. */
    assert_true(hq_view_policy_scope(v, org, "hall/H2", false));
    assert_false(hq_view_policy_scope(v, org, "hall/H1", false));
    assert_false(hq_view_policy_scope(v, org, "national", false));
    assert_true(hq_view_policy_scope(v, org, "national", true));
    assert_false(hq_view_policy_scope(v, org, "region/C002", false));
    assert_true(hq_view_policy_scope(v, org, "region/C002", true));
    assert_true(hq_view_policy_scope(v, org, "region/P01", true));
    assert_false(hq_view_policy_scope(v, org, "region/P02", true));
    assert_false(hq_view_policy_scope(v, org, "region/NOPE", true));
    /* The organisation changes: the view follows its generation. */
    json_t *hall = json_pack("{s:s, s:s}", "id", "H1", "city", "C002");
    assert_int_equal(org_put_hall(org, hall, err, sizeof err), 0);
    json_decref(hall);
    v = hq_ident_view(id, HB_PERM_POLICY_EDIT, org, 2);
    assert_true(hq_view_hall(v, org, "H2"));
    hq_ident_unref(&id);

    /* The network, and two grants of different roles. */
    hq_person_t two = {.n_grants = 2};
    snprintf(two.name, sizeof two.name, "two");
    assert_int_equal(hq_scope_parse("network", &two.grants[0]), 0);
    two.grants[0].role = HQ_ROLE_VIEWER;
    assert_int_equal(hq_scope_parse("region/C003", &two.grants[1]), 0);
    two.grants[1].role = HQ_ROLE_MARKETER;
    id = hq_ident_new(&two, HQ_CRED_TOKEN, cred);
    assert_true(hq_ident_view(id, HB_PERM_LIVE_READ, org, 2)->all);
    v = hq_ident_view(id, HB_PERM_CAMPAIGN_DRAFT, org, 2);
    assert_false(v->all);
    assert_true(hq_view_region(v, org, "C003"));
    assert_false(hq_view_region(v, org, "C001"));
    hq_ident_where(id, HB_PERM_ORG_READ, where, sizeof where);
    assert_string_equal(where, "region/C003");
    hq_ident_t *copy = hq_ident_new(&two, HQ_CRED_TOKEN, cred);
    assert_true(hq_ident_same_grants(id, copy));
    copy->grants[1].kind = HQ_SCOPE_HALL;
    assert_false(hq_ident_same_grants(id, copy));
    hq_ident_unref(&copy);
    hq_ident_unref(&id);
    org_destroy(&org);
}

/* ------------------------------------------------- credentials' ends */

static void test_expiry(void **state)
{
    fx_t *f = *state;
    char dir[HBT_FIXTURE_DIR + 8], err[256];
    snprintf(dir, sizeof dir, "%s/hq", f->dir);
    hq_auth_config_t cfg = {.dir = dir,
                            .listen = "127.0.0.1:1",
                            .port = 1,
                            .session_idle_ms = 60000,
                            .session_max_ms = 3600000,
                            .login_per_second = 1,
                            .audit_max = 1000};
    hq_auth_t *a = NULL;
    assert_int_equal(hq_auth_new(&cfg, NULL, &a, err, sizeof err), 0);
    char *bad_hosts[] = {"a:b:c"};
    hq_auth_config_t bad = cfg;
    bad.hosts = bad_hosts;
    bad.n_hosts = 1;
    hq_auth_t *b = NULL;
    assert_int_equal(hq_auth_new(&bad, NULL, &b, err, sizeof err), HB_EINVAL);
    assert_non_null(strstr(err, "a:b:c"));
    hq_person_t p = s_person("e", HQ_ROLE_VIEWER, "network");
    uint8_t cred[HQ_AUTH_HASH] = {2};
    const char *why = NULL;
    int64_t now = 10000000;
    hq_ident_t *tok = hq_ident_new(&p, HQ_CRED_TOKEN, cred);
    assert_false(auth_expired(a, tok, now, &why)); /* never expires */
    tok->expires_ms = now;
    assert_true(auth_expired(a, tok, now, &why));
    assert_non_null(strstr(why, "expired"));
    hq_ident_t *ses = hq_ident_new(&p, HQ_CRED_SESSION, cred);
    ses->created_ms = now - 1000;
    ses->expires_ms = ses->created_ms + cfg.session_max_ms;
    ses->last_ms = now - 59000;
    assert_false(auth_expired(a, ses, now, &why));
    ses->last_ms = now - 61000;
    assert_true(auth_expired(a, ses, now, &why));
    assert_non_null(strstr(why, "idle"));
    ses->last_ms = now;
    assert_true(auth_expired(a, ses, ses->expires_ms, &why));
    assert_non_null(strstr(why, "session_max"));
    ses->ended = true;
    assert_true(auth_expired(a, ses, now, &why));
    assert_non_null(strstr(why, "signed out"));
    hq_ident_unref(&tok);
    hq_ident_unref(&ses);
    hq_auth_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_names_scopes),
        cmocka_unit_test_setup_teardown(test_people_and_tokens, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_audit_log, s_setup, s_teardown),
        cmocka_unit_test(test_views),
        cmocka_unit_test_setup_teardown(test_expiry, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
