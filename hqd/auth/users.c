/* `hqd users`: enrolling the people who use HQ, on the HQ host, against the
 * data folder's auth store (authdb.h), also while hqd runs (hqd sees each
 * change on its next request). The first admin is made this way.
 *
 *   hqd users add NAME --role ROLE [--role ROLE ...] [--scope SCOPE] --data DIR
 *   hqd users passwd NAME --data DIR          (the password on stdin)
 *   hqd users list [--json] --data DIR
 *   hqd users remove NAME --data DIR
 *   hqd users token NAME --name TOKEN [--expires 90d|never] --data DIR
 *   hqd users token NAME --revoke TOKEN --data DIR
 *
 * `add` and `token` print the new API token alone on the last line of
 * stdout: it is shown once and stored only as a hash. A SCOPE is "network",
 * "region/ID", "hall/ID", or a bare ID that the organisation (read from
 * DATA/control) knows as a region or a hall; a role may carry its own
 * scope as ROLE@SCOPE. Exit codes: 0, 1 when the store refuses or fails
 * (the name exists, no such person), 2 for a command line that is wrong
 * (said on stderr, naming what). Every change is in the audit log, by
 * "cli:" and the account that ran it. */
#include "users.h"

#include "authdb.h"
#include "org.h"
#include "roles.h"

#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <errno.h>
#include <lmdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define USERS_PATH_MAX 4096
#define USERS_EXPIRES_DEFAULT "90d"
#define USERS_EXPIRES_MAX_MS (3650LL * 86400000) /* ten years */
#define USERS_LIST_MAX ((size_t)1 << 24) /* people listed at once: far past any head office */

typedef struct users_opts {
    char *data;
    hb_config_list_t roles;
    char *scope;
    char *name;
    char *expires;
    char *revoke;
    bool json;
} users_opts_t;

#define ROW(...) HB_CONF_TEXT_OPT(users_opts_t, __VA_ARGS__)

static const hb_config_def_t s_options[] = {
    ROW("data", data, "DIR", "hqd's data folder (the auth store is DIR/auth)"),
    HB_CONF_ROW(users_opts_t, "role", HB_CONF_LIST, roles, NULL, 0, HQ_AUTH_GRANTS_MAX, false,
                "a role (admin, operator, marketer, reviewer, policy_editor, analyst, viewer), "
                "or ROLE@SCOPE",
                .optional = true, .meta = "ROLE"),
    ROW("scope", scope, "SCOPE",
        "where the roles hold: network (the default), region/ID, hall/ID, or an ID the "
        "organisation knows"),
    ROW("name", name, "TOKEN", "the token's name (add: \"first\")"),
    ROW("expires", expires, "90d|never", "how long the token is valid (default 90d)"),
    ROW("revoke", revoke, "TOKEN", "revoke the person's token of this name"),
    HB_CONF_ROW(users_opts_t, "json", HB_CONF_BOOL, json, "false", 0, 0, false,
                "print the list as JSON"),
};
#define NOPTIONS (sizeof s_options / sizeof s_options[0])
#undef ROW

typedef struct users_cmd {
    const char *name;
    int (*run)(const users_opts_t *o, const char *arg);
    const char *usage, *help, *takes;
    unsigned args;
} users_cmd_t;

/* ----------------------------------------------------------- helpers */

static int s_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int s_usage_error(const char *cmd, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "hqd users %s: %s (see hqd users %s --help)\n", cmd, text, cmd);
    return EXIT_USAGE;
}

static int s_open(const users_opts_t *o, hq_authdb_t **db)
{
    char dir[USERS_PATH_MAX], err[512];
    snprintf(dir, sizeof dir, "%s/auth", o->data);
    if (hq_authdb_open(dir, db, err, sizeof err) != 0) {
        fprintf(stderr, "hqd users: %s\n", err);
        return EXIT_FAILED;
    }
    return 0;
}

/* The organisation hqd stores (DATA/control's "org" document), read-only;
 * NULL when there is none yet or it cannot be read. */
static org_t *s_org_read(const char *data)
{
    char dir[USERS_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/control", data);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    org_t *org = NULL;
    if (mdb_env_create(&env) != 0)
        return NULL;
    mdb_env_set_maxdbs(env, 4);
    if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0) == 0 &&
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0 &&
        mdb_dbi_open(txn, "docs", 0, &dbi) == 0) {
        MDB_val k = {3, (void *)"org"}, v;
        if (mdb_get(txn, dbi, &k, &v) == 0) {
            json_t *doc = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            char err[256];
            if (doc && org_from_json(doc, &org, err, sizeof err) != 0)
                org = NULL;
            json_decref(doc);
        }
    }
    if (txn)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return org;
}

/* A scope as the command line gives it, into `g`; a bare id is looked up
 * in the organisation. 0, or the exit code after saying why. */
static int s_scope(const char *cmd, const char *data, const char *text, hq_grant_t *g)
{
    if (hq_scope_parse(text, g) == 0)
        return 0;
    if (strchr(text, '/'))
        return s_usage_error(cmd, "--scope %s: a scope is network, region/ID, hall/ID or an ID",
                             text);
    org_t *org = s_org_read(data);
    const bool region = org && org_region_find(org, text);
    const bool hall = org && !region && org_hall_find(org, text);
    org_destroy(&org);
    char typed[HQ_AUTH_SCOPE_TEXT_MAX + 8];
    snprintf(typed, sizeof typed, "%s/%s", region ? "region" : "hall", text);
    if ((region || hall) && hq_scope_parse(typed, g) == 0)
        return 0;
    return s_usage_error(cmd,
                         "--scope %s: the organisation has no region or hall %s; write region/%s "
                         "or hall/%s to name one it does not have yet",
                         text, text, text, text);
}

/* --expires as an absolute time (0: never). 0, or the exit code. */
static int s_expires(const char *cmd, const char *text, int64_t *out)
{
    if (!text)
        text = USERS_EXPIRES_DEFAULT;
    if (strcmp(text, "never") == 0) {
        *out = 0;
        return 0;
    }
    int64_t ms;
    if (hb_duration_parse(text, &ms) != 0 || ms < 60000 || ms > USERS_EXPIRES_MAX_MS)
        return s_usage_error(cmd, "--expires %s: a duration from 1m to 3650d, or never", text);
    *out = hb_now_ms() + ms;
    return 0;
}

/* The audit record of a command that changed something. */
static void s_audit(hq_authdb_t *db, const char *action, const char *object, const char *detail)
{
    const struct passwd *pw = getpwuid(getuid());
    char who[HQ_AUTH_NAME_MAX + 8], at[HB_RFC3339_MAX];
    snprintf(who, sizeof who, "cli:%.64s", pw && pw->pw_name ? pw->pw_name : "?");
    int64_t now = hb_now_ms();
    hb_time_format(now, at);
    json_t *rec = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:s, s:s, s:s?, s:n, s:n}",
                            "at_ms", (json_int_t)now, "at", at, "action", action, "who", who, "via",
                            "cli", "from", "local", "method", "route", "object", object, "outcome",
                            "ok", "reason", detail, "before", "after");
    if (rec && hq_authdb_audit_append(db, &rec, 1) != 0)
        fprintf(stderr, "hqd users: warning: the audit log could not be written\n");
    json_decref(rec);
}

static void s_print_time(const char *label, int64_t ms)
{
    char at[HB_RFC3339_MAX] = "";
    if (ms > 0)
        hb_time_format(ms, at);
    printf("%s%s", label, ms > 0 ? at : "never");
}

/* ---------------------------------------------------------- commands */

static int s_add(const users_opts_t *o, const char *name)
{
    if (!hq_auth_name_ok(name))
        return s_usage_error("add", "'%.80s' is not a name: 1 to 64 of A-Z a-z 0-9 _ . @ -", name);
    if (o->roles.n == 0)
        return s_usage_error("add", "--role is required (one of admin, operator, marketer, "
                                    "reviewer, policy_editor, analyst, viewer)");
    hq_grant_t all = {.kind = HQ_SCOPE_NETWORK};
    if (o->scope) {
        int rc = s_scope("add", o->data, o->scope, &all);
        if (rc != 0)
            return rc;
    }
    hq_person_t p = {.created_ms = hb_now_ms()};
    snprintf(p.name, sizeof p.name, "%s", name);
    for (size_t i = 0; i < o->roles.n; i++) {
        char role[64];
        const char *at = strchr(o->roles.items[i], '@');
        size_t rlen = at ? (size_t)(at - o->roles.items[i]) : strlen(o->roles.items[i]);
        hq_role_t r;
        snprintf(role, sizeof role, "%.*s", (int)(rlen < sizeof role ? rlen : sizeof role - 1),
                 o->roles.items[i]);
        if (hq_role_parse(role, &r) != 0) {
            char all_roles[256];
            hq_roles_list(all_roles, sizeof all_roles);
            return s_usage_error("add", "--role %s: no such role; roles are %s", role, all_roles);
        }
        hq_grant_t *g = &p.grants[p.n_grants++];
        *g = all;
        if (at) {
            int rc = s_scope("add", o->data, at + 1, g);
            if (rc != 0)
                return rc;
        }
        g->role = (uint8_t)r;
    }
    int64_t expires = 0;
    int rc = s_expires("add", o->expires, &expires);
    const char *tname = o->name ? o->name : "first";
    if (rc == 0 && !hq_auth_token_name_ok(tname))
        rc = s_usage_error("add", "--name %s: a token's name is 1 to 64 of A-Z a-z 0-9 _ . -",
                           tname);
    if (rc != 0)
        return rc;
    hq_authdb_t *db;
    if ((rc = s_open(o, &db)) != 0)
        return rc;
    char err[512], secret[HQ_AUTH_SECRET_MAX];
    rc = hq_authdb_person_add(db, &p, err, sizeof err);
    if (rc == 0)
        rc = hq_authdb_token_add(db, name, tname, expires, secret, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "hqd users add: %s\n", err[0] ? err : hb_strerror(rc));
        hq_authdb_close(&db);
        return EXIT_FAILED;
    }
    char roles[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < p.n_grants && used < sizeof roles; i++) {
        char scope[HQ_AUTH_SCOPE_TEXT_MAX];
        hq_scope_format(&p.grants[i], scope, sizeof scope);
        int n = snprintf(roles + used, sizeof roles - used, "%s%s over %s", i ? ", " : "",
                         hq_role_name(p.grants[i].role), scope);
        used = n < 0 ? sizeof roles : used + (size_t)n;
    }
    s_audit(db, "users add", name, roles);
    printf("added %s: %s\n", name, roles);
    printf("API token '%s' for %s, ", tname, name);
    s_print_time("expires ", expires);
    printf(" (shown once; store it now):\n%s\n", secret);
    sodium_memzero(secret, sizeof secret);
    hq_authdb_close(&db);
    return 0;
}

/* The password from stdin: its first line (without echo on a terminal). */
static int s_read_password(char *out, size_t outlen)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(stderr, "password: ");
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *line = fgets(out, (int)outlen, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!line)
        return HB_ENOTFOUND;
    size_t n = strcspn(out, "\r\n");
    if (out[n] == '\0' && n == outlen - 1)
        return HB_ETOOBIG; /* no end of line within the buffer: too long */
    out[n] = '\0';
    return 0;
}

/* One change to person `name`, audited as `action` once made: a new
 * password hash `pwhash`, or without one, the person's removal. 0, or the
 * exit status after saying why on stderr. */
static int s_person_change(const users_opts_t *o, const char *action, const char *name,
                           const char *pwhash)
{
    hq_authdb_t *db;
    int rc = s_open(o, &db);
    if (rc != 0)
        return rc;
    rc = pwhash ? hq_authdb_person_set_password(db, name, pwhash)
                : hq_authdb_person_remove(db, name);
    if (rc == 0)
        s_audit(db, action, name, NULL);
    hq_authdb_close(&db);
    if (rc != 0) {
        fprintf(stderr, "hqd %s: %s\n", action,
                rc == HB_ENOTFOUND ? "no such person" : hb_strerror(rc));
        return EXIT_FAILED;
    }
    return 0;
}

static int s_passwd(const users_opts_t *o, const char *name)
{
    char pw[HQ_AUTH_PASSWORD_MAX + 2];
    int rc = s_read_password(pw, sizeof pw);
    size_t n = rc == 0 ? strlen(pw) : 0;
    if (rc != 0 || n < HQ_AUTH_PASSWORD_MIN || n > HQ_AUTH_PASSWORD_MAX) {
        sodium_memzero(pw, sizeof pw);
        return s_usage_error("passwd", "the password (one line on stdin) must be %d to %d bytes",
                             HQ_AUTH_PASSWORD_MIN, HQ_AUTH_PASSWORD_MAX);
    }
    char hash[crypto_pwhash_STRBYTES];
    rc = crypto_pwhash_str(hash, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(pw, sizeof pw);
    if (rc != 0) {
        fprintf(stderr, "hqd users passwd: out of memory hashing the password\n");
        return EXIT_FAILED;
    }
    if ((rc = s_person_change(o, "users passwd", name, hash)) != 0)
        return rc;
    printf("password set for %s\n", name);
    return 0;
}

typedef struct list_ctx {
    hq_authdb_t *db;
    bool json;
    json_t *out;
    hq_person_t *people; /* read first: one walk of the store at a time */
    size_t n, cap;
} list_ctx_t;

static int s_list_token(const hq_token_t *t, void *arg)
{
    list_ctx_t *c = arg;
    int64_t now = hb_now_ms();
    if (c->json) {
        char a[HB_RFC3339_MAX], e[HB_RFC3339_MAX], u[HB_RFC3339_MAX];
        hb_time_format(t->created_ms, a);
        hb_time_format(t->expires_ms, e);
        hb_time_format(t->last_used_ms, u);
        json_array_append_new(c->out,
                              json_pack("{s:s, s:s, s:o, s:o, s:b}", "name", t->name, "created", a,
                                        "expires", t->expires_ms ? json_string(e) : json_null(),
                                        "last_used", t->last_used_ms ? json_string(u) : json_null(),
                                        "expired", t->expires_ms && now >= t->expires_ms));
        return 0;
    }
    printf("    token %-20s", t->name);
    s_print_time(" created ", t->created_ms);
    s_print_time(", expires ", t->expires_ms);
    s_print_time(", last used ", t->last_used_ms);
    printf("%s\n", t->expires_ms && now >= t->expires_ms ? " (expired)" : "");
    return 0;
}

static int s_collect(const hq_person_t *p, void *arg)
{
    list_ctx_t *c = arg;
    if (hb_array_reserve((void **)&c->people, &c->cap, c->n + 1, sizeof *c->people,
                         USERS_LIST_MAX) != 0)
        return HB_ENOMEM;
    c->people[c->n++] = *p;
    return 0;
}

static void s_list_person(list_ctx_t *c, const hq_person_t *p)
{
    json_t *grants = json_array();
    char text[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < p->n_grants; i++) {
        char scope[HQ_AUTH_SCOPE_TEXT_MAX];
        hq_scope_format(&p->grants[i], scope, sizeof scope);
        json_array_append_new(grants, json_pack("{s:s, s:s}", "role",
                                                hq_role_name(p->grants[i].role), "scope", scope));
        if (used < sizeof text) {
            int n = snprintf(text + used, sizeof text - used, "%s%s@%s", i ? ", " : "",
                             hq_role_name(p->grants[i].role), scope);
            used = n < 0 ? sizeof text : used + (size_t)n;
        }
    }
    size_t sessions = hq_authdb_sessions_count(c->db, p->name);
    if (c->json) {
        json_t *save = c->out;
        json_t *tokens = json_array();
        c->out = tokens;
        hq_authdb_tokens(c->db, p->name, s_list_token, c);
        c->out = save;
        json_array_append_new(c->out,
                              json_pack("{s:s, s:o, s:b, s:I, s:o}", "name", p->name, "roles",
                                        grants, "password", p->pwhash[0] != '\0', "sessions",
                                        (json_int_t)sessions, "tokens", tokens));
        return;
    }
    json_decref(grants);
    printf("%-24s %s; password %s; %zu session(s)\n", p->name, text,
           p->pwhash[0] ? "set" : "not set", sessions);
    hq_authdb_tokens(c->db, p->name, s_list_token, c);
}

static int s_list(const users_opts_t *o, const char *arg)
{
    (void)arg;
    hq_authdb_t *db;
    int rc = s_open(o, &db);
    if (rc != 0)
        return rc;
    list_ctx_t c = {.db = db, .json = o->json, .out = json_array()};
    rc = hq_authdb_people(db, s_collect, &c);
    for (size_t i = 0; rc == 0 && i < c.n; i++)
        s_list_person(&c, &c.people[i]);
    sodium_memzero(c.people, c.cap * sizeof *c.people);
    free(c.people);
    if (o->json && rc == 0) {
        char *text = json_dumps(c.out, JSON_INDENT(2));
        if (text)
            printf("%s\n", text);
        free(text);
    }
    json_decref(c.out);
    hq_authdb_close(&db);
    return rc == 0 ? 0 : EXIT_FAILED;
}

static int s_remove(const users_opts_t *o, const char *name)
{
    int rc = s_person_change(o, "users remove", name, NULL);
    if (rc != 0)
        return rc;
    printf("removed %s, their tokens and sessions\n", name);
    return 0;
}

static int s_token(const users_opts_t *o, const char *name)
{
    if (o->revoke && (o->name || o->expires))
        return s_usage_error("token", "--revoke takes neither --name nor --expires");
    if (!o->revoke && !o->name)
        return s_usage_error("token", "--name (the new token's name) or --revoke is required");
    const char *tname = o->revoke ? o->revoke : o->name;
    if (!hq_auth_token_name_ok(tname))
        return s_usage_error("token", "'%.80s' is not a token name: 1 to 64 of A-Z a-z 0-9 _ . -",
                             tname);
    int64_t expires = 0;
    int rc = o->revoke ? 0 : s_expires("token", o->expires, &expires);
    if (rc != 0)
        return rc;
    hq_authdb_t *db;
    if ((rc = s_open(o, &db)) != 0)
        return rc;
    char err[512] = "", secret[HQ_AUTH_SECRET_MAX];
    if (o->revoke) {
        rc = hq_authdb_token_revoke(db, name, tname);
        if (rc == 0)
            s_audit(db, "users token revoke", name, tname);
        hq_authdb_close(&db);
        if (rc != 0) {
            fprintf(stderr, "hqd users token: %s has no token named %s\n", name, tname);
            return EXIT_FAILED;
        }
        printf("revoked %s's token %s\n", name, tname);
        return 0;
    }
    rc = hq_authdb_token_add(db, name, tname, expires, secret, err, sizeof err);
    if (rc == 0)
        s_audit(db, "users token", name, tname);
    hq_authdb_close(&db);
    if (rc != 0) {
        fprintf(stderr, "hqd users token: %s\n", err[0] ? err : hb_strerror(rc));
        return EXIT_FAILED;
    }
    printf("API token '%s' for %s, ", tname, name);
    s_print_time("expires ", expires);
    printf(" (shown once; store it now):\n%s\n", secret);
    sodium_memzero(secret, sizeof secret);
    return 0;
}

static const users_cmd_t s_cmds[] = {
    {"add", s_add,
     "add NAME --role ROLE [--role ROLE ...] [--scope SCOPE] [--name TOKEN] [--expires 90d|never] "
     "--data DIR",
     "enrol a person with roles over a scope; prints their first API token on the last line",
     "data role scope name expires", 1},
    {"passwd", s_passwd, "passwd NAME --data DIR",
     "set a person's password (for the dashboard's sign-in) from the first line of stdin", "data",
     1},
    {"list", s_list, "list [--json] --data DIR", "everyone, their roles, tokens and sessions",
     "data json", 0},
    {"remove", s_remove, "remove NAME --data DIR",
     "remove a person with their tokens and sessions (their streams close within a second)", "data",
     1},
    {"token", s_token,
     "token NAME (--name TOKEN [--expires 90d|never] | --revoke TOKEN) --data DIR",
     "make another API token (printed on the last line), or revoke one", "data name expires revoke",
     1},
};
#define NCMDS (sizeof s_cmds / sizeof s_cmds[0])

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hqd users COMMAND ... --data DIR\n");
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(out, "  hqd users %s\n      %s\n", s_cmds[i].usage, s_cmds[i].help);
}

int hq_users_main(int argc, char **argv)
{
    /* argv[0] is "users", argv[1] the command. */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const users_cmd_t *cmd = NULL;
    for (size_t i = 0; i < NCMDS && !cmd; i++)
        if (strcmp(s_cmds[i].name, argv[1]) == 0)
            cmd = &s_cmds[i];
    if (!cmd) {
        fprintf(stderr, "hqd users: no command '%.64s'\n", argv[1]);
        s_usage(stderr);
        return EXIT_USAGE;
    }
    hb_log_init("hqd users", HB_LOG_WARN); /* the store's info lines are hqd's */
    hb_config_cli_t cli = {.prog = "hqd users",
                           .command = cmd->name,
                           .usage = cmd->usage,
                           .about = cmd->help,
                           .takes = cmd->takes,
                           .needs = "data",
                           .min_args = cmd->args,
                           .max_args = cmd->args,
                           .args_what = cmd->args ? "a person's name" : NULL};
    users_opts_t o;
    memset(&o, 0, sizeof o);
    hb_config_parsed_t parsed;
    int rc = hb_config_args_main(s_options, NOPTIONS, &cli, &o, argc - 1, argv + 1, &parsed);
    if (rc >= 0)
        return rc;
    rc = cmd->run(&o, parsed.n_args ? parsed.args[0] : NULL);
    hb_config_free(s_options, NOPTIONS, &o);
    return rc;
}
