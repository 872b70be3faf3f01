/* hallctl's parts, shared by its files: the options every command reads
 * (one settings table in hallctl.c, parsed by common/base/config.c), the
 * commands' tables (each file lists its own), and the helpers that talk to
 * an API and read its answers. Private to tools/hallctl/.
 *
 *   hallctl.c  the options, the command line, HTTP, answers and bodies
 *   enroll.c   key pairs and enrolment: approving, installing, revoking
 *   hall.c     a hall's local API, and halls as HQ lists them
 *   hq.c       the head office's control plane
 *   login.c    login and logout: a person's token kept for later commands */
#ifndef HALLCTL_H
#define HALLCTL_H

#include "hallbus/config.h"
#include "hallbus/httpc.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define API_PATH_MAX 512 /* a path we build: ids are at most 64 bytes, escaped 192 */
#define API_TIMEOUT_MS 10000

/* Every option of every command; a command reads those it takes (its row
 * in a commands table says which). Strings are NULL when not given. */
typedef struct opts {
    const char *command;
    const char *args[HB_CONFIG_ARGS_MAX];
    size_t n_args;
    bool hq_from_env; /* --hq came from HALLBUS_HQ, not the command line */
    /* enrolment and HQ */
    char *region, *hq_keys, *out, *hq_endpoint, *hq, *keys;
    /* a hall's local API */
    char *hall, *priority, *source, *reason, *staff, *services, *ticket, *business_type, *outcome,
        *amount, *currency, *channel, *category, *severity, *text, *state, *by, *level, *resolution,
        *satisfied, *score, *counter, *kind, *detail;
    bool force, json;
    /* the head office's control plane (with --state, --by and --level above) */
    char *name, *parent, *city, *tags, *note, *halls;
    /* alerts that reach people (with --by, --note and --reason above) */
    char *until, *kinds, *scope, *alert;
    bool drafts, csv;
    /* how requests go out */
    char *token, *cacert;
    hb_config_list_t headers;
    /* login and logout: never send the token hallctl login stored */
    bool no_stored_token;
} opts_t;

/* One command: what it runs, how it is used, and the options it takes and
 * needs (names as in the options table, space-separated; --json, --help and
 * --version go with every command, and --token, --header and --cacert with
 * every command that talks to an API). */
typedef struct hallctl_command {
    const char *name;
    int (*run)(const opts_t *o);
    const char *usage; /* after "hallctl " */
    const char *help;
    const char *options;
    const char *required;
    unsigned min_args, max_args;
    const char *args_what; /* what its positional arguments are, for messages */
} hallctl_command_t;

extern const hallctl_command_t hallctl_enroll_commands[];
extern const size_t hallctl_enroll_ncommands;
extern const hallctl_command_t hallctl_hall_commands[];
extern const size_t hallctl_hall_ncommands;
extern const hallctl_command_t hallctl_hq_commands[];
extern const size_t hallctl_hq_ncommands;
extern const hallctl_command_t hallctl_login_commands[];
extern const size_t hallctl_login_ncommands;

/* ---- the token hallctl login stores (login.c) */

/* Where it is kept: $XDG_CONFIG_HOME/hallbus/token, else
 * $HOME/.config/hallbus/token. -1 when neither variable says. */
int hallctl_token_path(char *out, size_t outlen);
/* The stored token and the HQ it is for. 0; HB_ENOTFOUND (none stored);
 * HB_EINVAL with `err` saying why it is not used (readable by others, not
 * the caller's, not what login writes). */
int hallctl_token_load(char *token, size_t tokenlen, char *hq, size_t hqlen, char *err,
                       size_t errlen);

/* ---- talking to an API */

/* One request to the API at `base` (given as `option`, for messages), with
 * the token, headers and CA file of the command line; to HQ without
 * --token, $HALLBUS_TOKEN or an Authorization header, the token hallctl
 * login stored for that HQ, if any. On 0, `*status` is
 * the HTTP status and `*answer` the JSON body (NULL when the body is not
 * JSON). Otherwise says why and returns EXIT_USAGE for a base that is not a
 * URL, EXIT_FAILED when no answer came. */
int hallctl_request(const opts_t *o, const char *base, const char *option, const char *method,
                    const char *path, const json_t *body, int *status, json_t **answer);
/* The same with the answer as it came (free it with hb_httpc_resp_free). */
int hallctl_call(const opts_t *o, const char *base, const char *option, const char *method,
                 const char *path, const char *body, hb_httpc_resp_t *resp);

typedef void (*hallctl_print_fn)(const opts_t *o, const json_t *answer);
/* One request (taking `body`, which may be NULL) to the API at `base`
 * (given as `option`; `who` names it in messages: "the hall", "HQ"), and
 * its answer printed: as it came with --json, else by `print`, or the
 * refusal, then `refused` (may be NULL) on the refusal's body. Returns the
 * exit code. */
int hallctl_do(const opts_t *o, const char *base, const char *option, const char *who,
               const char *method, const char *path, json_t *body, hallctl_print_fn print,
               hallctl_print_fn refused);
void hallctl_print_json(const json_t *j);
/* A refusal as one line: the status, the server's code and its reason, and
 * for a closed hall where to go instead. */
void hallctl_print_refusal(const opts_t *o, int status, const json_t *a);

/* ---- reading answers */
const char *hallctl_jstr(const json_t *o, const char *name); /* "" when absent */
long long hallctl_jint(const json_t *o, const char *name);
/* A string array as "A,B" (with `sep`) into `out`. */
const char *hallctl_jlist(const json_t *o, const char *name, const char *sep, char *out,
                          size_t outlen);

/* ---- paths and bodies */

/* Appends `text` to `out` percent-encoded, so that an id can never add a
 * segment or a query to the path. -1 when it does not fit. */
int hallctl_escape(char *out, size_t outlen, size_t *used, const char *text);
/* "<collection><id><suffix>" into `out`; EXIT_USAGE (said) for an empty id
 * or one too long for any path. */
int hallctl_path(const opts_t *o, char *out, size_t outlen, const char *collection, const char *id,
                 const char *suffix);
/* A hall id as an argument; EXIT_USAGE (said) when it is not one. */
int hallctl_check_hall_id(const opts_t *o, const char *id);
/* A whole number, all of `text`. */
bool hallctl_parse_int(const char *text, long long *out);

/* A request body: one row per member, from an option or argument. */
enum { M_STR, M_INT, M_NONNEG, M_YESNO, M_LIST };
typedef struct hallctl_member {
    const char *name;  /* the JSON member */
    const char *value; /* the option's text, NULL when not given */
    const char *what;  /* the option or argument, for messages */
    int kind;
} hallctl_member_t;
#define NMEMBERS(m) (sizeof(m) / sizeof((m)[0]))
/* Sets one member on `body`; EXIT_USAGE (said) when the text is not what
 * the member takes. */
int hallctl_member(const opts_t *o, json_t *body, const hallctl_member_t *m);
/* The body from `members` (those given); EXIT_USAGE (said) as above. */
int hallctl_body(const opts_t *o, const hallctl_member_t *members, size_t n, json_t **out);

/* How a file's commands send a request to their API and print its answer
 * (hall.c's to --hall, hq.c's to --hq; both through hallctl_do). */
typedef int (*hallctl_send_fn)(const opts_t *o, const char *method, const char *path, json_t *body,
                               hallctl_print_fn print);
/* `method path` through `send` with the body from `members`; EXIT_USAGE
 * (said, nothing sent) when a member will not do, else `send`'s code. */
int hallctl_send_members(const opts_t *o, hallctl_send_fn send, const char *method,
                         const char *path, const hallctl_member_t *members, size_t n,
                         hallctl_print_fn print);
/* `method` on "<collection><id><suffix>" (hallctl_path) through `send`:
 * POST and PUT with the body from `members` (`{}` when none is given), GET
 * and DELETE with none. The path is checked before the body. */
int hallctl_send_to(const opts_t *o, hallctl_send_fn send, const char *method,
                    const char *collection, const char *id, const char *suffix,
                    const hallctl_member_t *members, size_t n, hallctl_print_fn print);
/* `print` on each item of the array `member` of an answer. */
void hallctl_print_each(const opts_t *o, const json_t *answer, const char *member,
                        hallctl_print_fn print);

#endif
