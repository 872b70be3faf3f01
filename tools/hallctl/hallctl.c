/* hallctl: the operator's command line. Enrols halls (their CURVE key pairs,
 * HQ's halls/ folder, the hall's config), reads and drives HQ's HTTP API,
 * and drives a hall's local API (tickets, counters, complaints, feedback,
 * devices, the live hall) the way a kiosk or a counter terminal would.
 *
 * Every option is a row of one settings table (below), read by the table
 * parser the daemons use (common/base/config.c); each command's row in its
 * file's commands table names the options it takes and those it needs, so
 * parsing, --help and every usage error come from one place. Requests go
 * out through libcurl (hallbus/httpc.h), with --token, --header and
 * --cacert. Request bodies are built with jansson, never pasted.
 * Exit codes: 0 done, 1 the operation failed or the server refused it (its
 * reason printed), 2 bad usage (the option named). */
#include "hallctl.h"

#include "hallbus/cert.h"
#include "hallbus/error.h"
#include "hallbus/manpage.h"
#include "hallbus/version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* An option with a value (NULL when not given), and a flag. */
#define ROW(name_, type_, field, meta_, help_, ...)                                                \
    HB_CONF_ROW(opts_t, name_, type_, field, NULL, 0, 0, false, help_, .optional = true,           \
                .meta = meta_, __VA_ARGS__)
#define FLAG(name_, field, help_)                                                                  \
    HB_CONF_ROW(opts_t, name_, HB_CONF_BOOL, field, "false", 0, 0, false, help_)
#define S HB_CONF_STRING

/* Every option of every command. Whether a command takes or needs one is
 * the command's row's business; here is what each one is. */
static const hb_config_def_t s_options[] = {
    ROW("region", S, region, "REGION", "the hall's region, written into its certificate"),
    ROW("hq-keys", S, hq_keys, "DIR", "HQ's key folder (hq.key, halls/)"),
    ROW("out", S, out, "DIR", "the hall's folder to write (keys and branchd.conf)"),
    ROW("hq-endpoint", S, hq_endpoint, "tcp://HOST:PORT",
        "where the hall reaches HQ's link (written into branchd.conf)"),
    ROW("hq", S, hq, "URL", "HQ's HTTP API, http://HOST:PORT or https://HOST[:PORT]",
        .env = "HALLBUS_HQ"),
    ROW("keys", S, keys, "DIR",
        "the hall's key folder (hall.key, hall.key_secret, hq.key), where a certificate is "
        "installed"),
    FLAG("force", force, "enrol again: a new key pair (the old one stops working)"),
    ROW("hall", S, hall, "URL", "the hall's local API, http://HOST:PORT"),
    FLAG("json", json, "print the answer as it came"),
    ROW("priority", S, priority, "P", "normal, vip, elderly, appointment"),
    ROW("source", S, source, "S", "kiosk, app, staff"),
    ROW("reason", S, reason, "TEXT", "why"),
    ROW("staff", S, staff, "ID", "who staffs the counter"),
    ROW("services", S, services, "A,B", "the services the counter serves"),
    ROW("ticket", S, ticket, "T", "a ticket"),
    ROW("business-type", S, business_type, "X", "the transaction's business type"),
    ROW("outcome", S, outcome, "O", "done, referred, rejected_documents"),
    ROW("amount", S, amount, "N", "the amount in minor units (12000 is 120.00)"),
    ROW("currency", S, currency, "CODE", "the amount's currency (EUR)"),
    ROW("channel", S, channel, "X", "counter, phone, email, suggestion_box, app"),
    ROW("category", S, category, "Y", "the complaint's category"),
    ROW("severity", S, severity, "Z", "low, medium, high, critical"),
    ROW("text", S, text, "TEXT", "the complaint in the customer's words"),
    ROW("state", S, state, "S", "a state: of complaints, a device or campaigns (see above)"),
    ROW("by", S, by, "USER", "who does it"),
    ROW("level", S, level, "L", "an escalation level, or a region's level"),
    ROW("resolution", S, resolution, "TEXT", "how the complaint was resolved"),
    ROW("satisfied", S, satisfied, "yes|no", "whether the customer was satisfied"),
    ROW("score", S, score, "N", "satisfaction, 1 to 5"),
    ROW("counter", S, counter, "C", "a counter"),
    ROW("kind", S, kind, "K", "kiosk, self_service, display, counter_terminal"),
    ROW("detail", S, detail, "TEXT", "what the device reports"),
    ROW("name", S, name, "N", "a name"),
    ROW("parent", S, parent, "P", "the region above"),
    ROW("city", S, city, "C", "the city region the hall is in"),
    ROW("tags", S, tags, "a,b", "the hall's tags (\"\" clears them)"),
    ROW("note", S, note, "TEXT", "a note kept in the campaign's history"),
    ROW("halls", S, halls, "N", "hall ids listed per group, 0 to 100000"),
    ROW("until", S, until, "TIME", "when a silence ends, RFC 3339 (2026-12-24T18:00:00+08:00)"),
    ROW("kinds", S, kinds, "a,b", "alert kinds (wait_sla,hall_offline; * for all)"),
    ROW("scope", S, scope, "SCOPE", "network, region/ID or hall/ID"),
    ROW("alert", S, alert, "ID", "an alert's id"),
    FLAG("drafts", drafts, "with the draft policies, not the published ones"),
    FLAG("csv", csv, "as CSV"),
    ROW("token", S, token, "TOKEN", "sent as 'Authorization: Bearer TOKEN'",
        .env = "HALLBUS_TOKEN"),
    HB_CONF_ROW(opts_t, "header", HB_CONF_LIST, headers, NULL, 0, HB_HTTPC_HEADERS_MAX, false,
                "one more request header", .optional = true, .meta = "'NAME: VALUE'"),
    ROW("cacert", S, cacert, "FILE",
        "https: trust the CA certificates in FILE (PEM) instead of the system's"),
};
#define NOPTIONS (sizeof s_options / sizeof s_options[0])
#undef S
#undef ROW
#undef FLAG

/* ------------------------------------------------------------ HTTP ---- */

void hallctl_print_json(const json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2));
    if (text)
        printf("%s\n", text);
    free(text);
}

/* Whether a --header already says who is calling. */
static bool s_has_authorization(const opts_t *o)
{
    for (size_t i = 0; i < o->headers.n; i++)
        if (strncasecmp(o->headers.items[i], "authorization:", 14) == 0)
            return true;
    return false;
}

/* The token hallctl login stored, when this request may carry it: to HQ,
 * the HQ it was made for, nothing else naming the caller. 0 (`token` set,
 * or "" for none), or the exit code after saying why the file is not used. */
static int s_stored_token(const opts_t *o, const char *base, const char *option, char *token,
                          size_t tokenlen)
{
    token[0] = '\0';
    if (o->token || o->no_stored_token || strcmp(option, "--hq") != 0 || s_has_authorization(o))
        return 0;
    char hq[1024], err[4200];
    int rc = hallctl_token_load(token, tokenlen, hq, sizeof hq, err, sizeof err);
    if (rc == HB_ENOTFOUND)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "hallctl %s: the stored token is not used: %s\n", o->command, err);
        return EXIT_FAILED;
    }
    /* A token is only ever shown to the HQ that made it. */
    if (strcmp(hq, base) != 0)
        explicit_bzero(token, tokenlen);
    return 0;
}

int hallctl_call(const opts_t *o, const char *base, const char *option, const char *method,
                 const char *path, const char *body, hb_httpc_resp_t *resp)
{
    char stored[256];
    int src = s_stored_token(o, base, option, stored, sizeof stored);
    if (src != 0)
        return src;
    hb_httpc_opts_t http = {.timeout_ms = API_TIMEOUT_MS,
                            .token = o->token    ? o->token
                                     : stored[0] ? stored
                                                 : NULL,
                            .cacert = o->cacert,
                            .headers = (const char *const *)o->headers.items,
                            .n_headers = o->headers.n};
    char err[512];
    int rc = hb_httpc_call(base, method, path, body, &http, resp, err, sizeof err);
    explicit_bzero(stored, sizeof stored);
    if (rc == HB_EINVAL) {
        /* The token and the headers were checked when read: the base it is. */
        fprintf(stderr, "hallctl %s: %s '%s' is not http://HOST:PORT or https://HOST:PORT (%s)\n",
                o->command, option, base, err);
        return EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "hallctl %s: %s\n", o->command, err);
        return EXIT_FAILED;
    }
    return 0;
}

int hallctl_request(const opts_t *o, const char *base, const char *option, const char *method,
                    const char *path, const json_t *body, int *status, json_t **answer)
{
    *answer = NULL;
    char *text = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text) {
            fprintf(stderr, "hallctl %s: cannot encode the request\n", o->command);
            return EXIT_FAILED;
        }
    }
    hb_httpc_resp_t r;
    int rc = hallctl_call(o, base, option, method, path, text, &r);
    free(text);
    if (rc != 0)
        return rc;
    *status = r.status;
    *answer = json_loadb(r.body, r.body_len, 0, NULL);
    hb_httpc_resp_free(&r);
    return 0;
}

int hallctl_do(const opts_t *o, const char *base, const char *option, const char *who,
               const char *method, const char *path, json_t *body, hallctl_print_fn print,
               hallctl_print_fn refused)
{
    int status = 0;
    json_t *a = NULL;
    int rc = hallctl_request(o, base, option, method, path, body, &status, &a);
    json_decref(body);
    if (rc != 0)
        return rc;
    if (!a) {
        fprintf(stderr, "hallctl %s: %s answered %d with a body that is not JSON\n", o->command,
                who, status);
        return EXIT_FAILED;
    }
    bool ok = status >= 200 && status < 300;
    if (o->json) {
        hallctl_print_json(a);
    } else if (ok) {
        print(o, a);
    } else {
        hallctl_print_refusal(o, status, a);
        if (refused)
            refused(o, a);
    }
    json_decref(a);
    return ok ? 0 : EXIT_FAILED;
}

/* ------------------------------------------------ reading answers ---- */

const char *hallctl_jstr(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v ? v : "";
}

long long hallctl_jint(const json_t *o, const char *name)
{
    return (long long)json_integer_value(json_object_get(o, name));
}

/* A string array as "A,B" into `out`. */
const char *hallctl_jlist(const json_t *o, const char *name, const char *sep, char *out,
                          size_t outlen)
{
    size_t used = 0, i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach (json_object_get(o, name), i, v) {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? sep : "",
                         json_string_value(v) ? json_string_value(v) : "?");
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
    return out;
}

/* A refusal as one line: the status, the server's code and its reason, and
 * for a closed hall where to go instead. */
void hallctl_print_refusal(const opts_t *o, int status, const json_t *a)
{
    const char *reason = json_string_value(json_object_get(a, "reason"));
    fprintf(stderr, "hallctl %s: refused (%d %s): %s", o->command, status, hallctl_jstr(a, "error"),
            reason ? reason : "(no reason given)");
    if (json_array_size(json_object_get(a, "divert_to"))) {
        char list[512];
        fprintf(stderr, "; go to %s", hallctl_jlist(a, "divert_to", ", ", list, sizeof list));
    }
    fprintf(stderr, "\n");
}

/* ---------------------------------------------------- paths, bodies ---- */

/* Appends `text` to `out` percent-encoded, so that an id can never add a
 * segment or a query to the path. */
int hallctl_escape(char *out, size_t outlen, size_t *used, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        size_t need = plain ? 1 : 3;
        if (*used + need >= outlen)
            return -1;
        if (plain) {
            out[(*used)++] = (char)*p;
        } else {
            out[(*used)++] = '%';
            out[(*used)++] = hex[*p >> 4];
            out[(*used)++] = hex[*p & 15];
        }
    }
    out[*used] = '\0';
    return 0;
}

/* "/v1/<collection>/<id><suffix>" into `out`; EXIT_USAGE (said) for an
 * empty id or one too long for any path. */
int hallctl_path(const opts_t *o, char *out, size_t outlen, const char *collection, const char *id,
                 const char *suffix)
{
    size_t used = 0;
    int w = snprintf(out, outlen, "%s", collection);
    if (w < 0 || (size_t)w >= outlen)
        return EXIT_USAGE;
    used = (size_t)w;
    if (!id[0] || hallctl_escape(out, outlen, &used, id) != 0 || used + strlen(suffix) >= outlen) {
        fprintf(stderr, "hallctl %s: '%.64s' cannot be an id (1 to 64 bytes)\n", o->command, id);
        return EXIT_USAGE;
    }
    memcpy(out + used, suffix, strlen(suffix) + 1);
    return 0;
}

/* A hall id as an argument; EXIT_USAGE (said) when it is not one. */
int hallctl_check_hall_id(const opts_t *o, const char *id)
{
    if (hb_hall_id_valid(id))
        return 0;
    fprintf(stderr, "hallctl %s: '%s' is not a hall id (1 to 32 of A-Z a-z 0-9 - _)\n", o->command,
            id);
    return EXIT_USAGE;
}

/* A whole number, all of `text`. */
bool hallctl_parse_int(const char *text, long long *out)
{
    if (!text[0])
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || !end || *end != '\0')
        return false;
    *out = v;
    return true;
}

int hallctl_member(const opts_t *o, json_t *body, const hallctl_member_t *m)
{
    json_t *v = NULL;
    long long n = 0;
    switch (m->kind) {
    case M_STR:
        v = json_string(m->value); /* NULL when not UTF-8 */
        break;
    case M_INT:
    case M_NONNEG:
        if (!hallctl_parse_int(m->value, &n) || (m->kind == M_NONNEG && n < 0)) {
            fprintf(stderr, "hallctl %s: %s must be a whole number%s, not '%s'\n", o->command,
                    m->what,
                    m->kind == M_NONNEG ? " of 0 or more (minor units: 12000 is 120.00)" : "",
                    m->value);
            return EXIT_USAGE;
        }
        v = json_integer((json_int_t)n);
        break;
    case M_YESNO:
        if (strcmp(m->value, "yes") != 0 && strcmp(m->value, "no") != 0) {
            fprintf(stderr, "hallctl %s: %s must be yes or no, not '%s'\n", o->command, m->what,
                    m->value);
            return EXIT_USAGE;
        }
        v = json_boolean(strcmp(m->value, "yes") == 0);
        break;
    case M_LIST: {
        v = json_array();
        const char *p = m->value;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            json_t *item = len ? json_stringn(p, len) : NULL;
            if (!item) {
                fprintf(stderr,
                        "hallctl %s: %s must be codes separated by commas, such as A,B; "
                        "not '%s'\n",
                        o->command, m->what, m->value);
                json_decref(v);
                return EXIT_USAGE;
            }
            json_array_append_new(v, item);
            if (!comma)
                break;
            p = comma + 1;
        }
        break;
    }
    default: break;
    }
    if (!v) {
        fprintf(stderr, "hallctl %s: %s is not valid UTF-8\n", o->command, m->what);
        return EXIT_USAGE;
    }
    json_object_set_new(body, m->name, v);
    return 0;
}

/* The request body from `members` (those given); EXIT_USAGE (said) when
 * one of them is not what its member takes. */
int hallctl_body(const opts_t *o, const hallctl_member_t *members, size_t n, json_t **out)
{
    json_t *body = json_object();
    for (size_t i = 0; i < n; i++) {
        if (!members[i].value)
            continue;
        int rc = hallctl_member(o, body, &members[i]);
        if (rc != 0) {
            json_decref(body);
            return rc;
        }
    }
    *out = body;
    return 0;
}

int hallctl_send_members(const opts_t *o, hallctl_send_fn send, const char *method,
                         const char *path, const hallctl_member_t *members, size_t n,
                         hallctl_print_fn print)
{
    json_t *body = NULL;
    int rc = hallctl_body(o, members, n, &body);
    return rc != 0 ? rc : send(o, method, path, body, print);
}

int hallctl_send_to(const opts_t *o, hallctl_send_fn send, const char *method,
                    const char *collection, const char *id, const char *suffix,
                    const hallctl_member_t *members, size_t n, hallctl_print_fn print)
{
    char path[API_PATH_MAX];
    int rc = hallctl_path(o, path, sizeof path, collection, id, suffix);
    if (rc != 0)
        return rc;
    /* The verbs that change something carry a body, if only {}. */
    bool with_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    return with_body ? hallctl_send_members(o, send, method, path, members, n, print)
                     : send(o, method, path, NULL, print);
}

void hallctl_print_each(const opts_t *o, const json_t *answer, const char *member,
                        hallctl_print_fn print)
{
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(answer, member), i, v)
        print(o, v);
}

/* ------------------------------------------------------- the commands ---- */

static int s_help(const opts_t *o);

static const hallctl_command_t s_help_command = {"help", s_help, "help", "print this", "",
                                                 NULL,   0,      0,      NULL};

/* The commands in the order `hallctl help` lists them. */
static const struct {
    const hallctl_command_t *rows;
    const size_t *n;
} s_groups[] = {
    {hallctl_enroll_commands, &hallctl_enroll_ncommands},
    {hallctl_hall_commands, &hallctl_hall_ncommands},
    {hallctl_hq_commands, &hallctl_hq_ncommands},
    {hallctl_login_commands, &hallctl_login_ncommands},
};

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hallctl COMMAND [options]\n\n");
    for (size_t g = 0; g < sizeof s_groups / sizeof s_groups[0]; g++)
        for (size_t i = 0; i < *s_groups[g].n; i++)
            fprintf(out, "  hallctl %s\n      %s\n", s_groups[g].rows[i].usage,
                    s_groups[g].rows[i].help);
    fprintf(out, "  hallctl %s\n      %s\n", s_help_command.usage, s_help_command.help);
    fprintf(out,
            "\nCommands that talk to an API take --json to print its answer as it came, and\n"
            "--token TOKEN (sent as a bearer token; or $HALLBUS_TOKEN), --header 'NAME: VALUE'\n"
            "(any number) and --cacert FILE (for https). --hq may be left out when\n"
            "$HALLBUS_HQ holds HQ's address. 'hallctl COMMAND --help' tells one command's\n"
            "options; 'hallctl --version' the version.\n"
            "Exit codes: 0 done, 1 failed or refused (the reason is printed), 2 bad usage.\n");
}

static int s_help(const opts_t *o)
{
    (void)o;
    s_usage(stdout);
    return 0;
}

static const hallctl_command_t *s_command(const char *name)
{
    if (strcmp(name, s_help_command.name) == 0)
        return &s_help_command;
    for (size_t g = 0; g < sizeof s_groups / sizeof s_groups[0]; g++)
        for (size_t i = 0; i < *s_groups[g].n; i++)
            if (strcmp(s_groups[g].rows[i].name, name) == 0)
                return &s_groups[g].rows[i];
    return NULL;
}

static size_t s_row(const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcmp(s_options[i].name, name) == 0)
            return i;
    return NOPTIONS;
}

/* How requests go out, checked before any goes: a bad --header, --token or
 * --cacert is bad usage, not a failed request. */
static int s_check_http(const opts_t *o, const hallctl_command_t *cmd)
{
    char err[256];
    for (size_t i = 0; i < o->headers.n; i++) {
        if (hb_httpc_header_check(o->headers.items[i], err, sizeof err) != 0) {
            fprintf(stderr, "hallctl %s: --header: %s\n", cmd->name, err);
            return EXIT_USAGE;
        }
    }
    if (o->token && hb_httpc_token_check(o->token, err, sizeof err) != 0) {
        fprintf(stderr, "hallctl %s: --token: %s\n", cmd->name, err);
        return EXIT_USAGE;
    }
    if (o->cacert && access(o->cacert, R_OK) != 0) {
        fprintf(stderr, "hallctl %s: --cacert %s: %s\n", cmd->name, o->cacert, strerror(errno));
        return EXIT_USAGE;
    }
    return 0;
}

/* What a command takes: its options, --json, and how requests go out when
 * it talks to an API. `takes` holds the names `cli` points at. */
static void s_cli(const hallctl_command_t *cmd, char *takes, size_t takes_len, hb_config_cli_t *cli)
{
    bool talks = hb_config_listed(cmd->options, "hall") || hb_config_listed(cmd->options, "hq");
    snprintf(takes, takes_len, "%s%s%s", cmd->options, cmd->run == s_help ? "" : " json",
             talks ? " token header cacert" : "");
    const char *usage = cmd->usage + strlen(cmd->name);
    *cli = (hb_config_cli_t){.prog = "hallctl",
                             .command = cmd->name,
                             .usage = usage[0] == ' ' ? usage + 1 : usage,
                             .about = cmd->help,
                             .takes = takes,
                             .needs = cmd->required,
                             .min_args = cmd->min_args,
                             .max_args = cmd->max_args,
                             .args_what = cmd->args_what};
}

/* ------------------------------------------------------ manual page ---- */

/* Every command with the options it takes, from the same rows as
 * 'hallctl COMMAND --help'. */
static void s_man_commands(FILE *out)
{
    for (size_t g = 0; g < sizeof s_groups / sizeof s_groups[0]; g++) {
        for (size_t i = 0; i < *s_groups[g].n; i++) {
            const hallctl_command_t *cmd = &s_groups[g].rows[i];
            char title[256], takes[512];
            snprintf(title, sizeof title, "hallctl %s", cmd->usage);
            hb_man_subsection(out, title);
            hb_man_text(out, cmd->help);
            hb_config_cli_t cli;
            s_cli(cmd, takes, sizeof takes, &cli);
            hb_man_settings(out, s_options, NOPTIONS, &cli);
        }
    }
}

static const hb_man_part_t s_man_parts[] = {
    {"COMMANDS",
     "Commands that talk to an API take --json to print its answer as it came, and --token "
     "TOKEN (sent as a bearer token), --header 'NAME: VALUE' (any number) and --cacert FILE "
     "(for https). Every command takes --help.",
     s_man_commands},
    {"ENVIRONMENT",
     "- HALLBUS_HQ: HQ's API, http://HOST:PORT or https://HOST[:PORT], when --hq is left "
     "out.\n"
     "- HALLBUS_TOKEN: the bearer token, when --token is left out.",
     NULL},
    {"EXIT STATUS",
     "- 0: done.\n"
     "- 1: the operation failed or the server refused it (its reason is printed).\n"
     "- 2: bad usage (the option is named, and nothing was sent).",
     NULL},
};

static const hb_man_t s_man = {
    .name = "hallctl",
    .section = "1",
    .summary = "the hallbus operator's command line",
    .synopsis = "hallctl COMMAND [ARGUMENTS] [options]\nhallctl help\n"
                "hallctl COMMAND --help\nhallctl --version",
    .description =
        "hallctl enrols halls (their CURVE key pairs, HQ's halls/ folder, the hall's config), "
        "reads and drives head office's HTTP API (halls, regions, policies, campaigns), and "
        "drives a hall's local API (tickets, counters, complaints, feedback, devices, the live "
        "hall) the way a kiosk or a counter terminal would. Requests go out through libcurl, "
        "one connection each, never through a proxy from the environment, never following a "
        "redirect.",
    .parts = s_man_parts,
    .n_parts = sizeof s_man_parts / sizeof s_man_parts[0],
    .see_also = "hqd(8), branchd(8)",
};

int main(int argc, char **argv)
{
    if (hb_man_asked(argc, argv)) {
        hb_man_head(stdout, &s_man);
        hb_man_parts(stdout, &s_man);
        hb_man_see_also(stdout, &s_man);
        return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        hb_version_print("hallctl", stdout);
        return 0;
    }
    /* Two words name one command: `hallctl enroll approve` is the row
     * "enroll-approve", `hallctl halls revoke` is "halls-revoke". */
    char joined[64];
    if (argc >= 3 && argv[2][0] != '-' &&
        snprintf(joined, sizeof joined, "%s-%s", argv[1], argv[2]) < (int)sizeof joined &&
        s_command(joined)) {
        argv[2] = joined;
        argv++;
        argc--;
    }
    const hallctl_command_t *cmd = s_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "hallctl: unknown command '%s'\n", argv[1]);
        s_usage(stderr);
        return EXIT_USAGE;
    }
    char takes[512];
    hb_config_cli_t cli;
    s_cli(cmd, takes, sizeof takes, &cli);
    opts_t o;
    memset(&o, 0, sizeof o);
    hb_config_parsed_t parsed;
    char err[512];
    int rc = hb_config_args(s_options, NOPTIONS, &cli, &o, argc - 1, argv + 1, &parsed, stdout, err,
                            sizeof err);
    if (rc == HB_ENOTFOUND)
        return 0; /* --help, --version */
    if (rc != 0) {
        fprintf(stderr, "hallctl %s: %s\nusage: hallctl %s\n", cmd->name, err, cmd->usage);
        return EXIT_USAGE;
    }
    o.command = cmd->name;
    for (unsigned i = 0; i < parsed.n_args; i++)
        o.args[i] = parsed.args[i];
    o.n_args = parsed.n_args;
    o.hq_from_env = parsed.source[s_row("hq")] == HB_CONF_FROM_ENV;
    rc = s_check_http(&o, cmd);
    if (rc == 0)
        rc = cmd->run(&o);
    hb_config_free(s_options, NOPTIONS, &o);
    return rc;
}
