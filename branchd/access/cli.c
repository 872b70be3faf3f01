/* `branchd devices ...` and `branchd staff ...`: the duty manager's (or
 * HQ's) commands to pair devices and enrol staff, run on the hall machine,
 * also while branchd runs (they open the access store beside it, never the
 * outbox, and never take the data folder's lock). Each command is a row of
 * one table; its options come from the settings parser the tools use, so
 * --help and every usage error come from one place.
 *
 * Exit codes: 0 done; 1 the store could not be read or written; 2 bad usage,
 * with what is wrong named (an unknown kind, a counter terminal without its
 * counter, a name already paired or not paired, a PIN that is no PIN). */
#include "access.h"

#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/manpage.h"
#include "hallbus/time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define PIN_LINE_MAX 64

typedef struct cli_opts {
    char *data;
    char *kind;
    char *counter;
} cli_opts_t;

#define ROW(...) HB_CONF_TEXT_OPT(cli_opts_t, __VA_ARGS__)
static const hb_config_def_t s_options[] = {
    ROW("data", data, "DIR", "branchd's data folder (the store is DIR/access)"),
    ROW("kind", kind, "KIND", "kiosk, counter, display, manager or adapter"),
    ROW("counter", counter, "N", "a counter terminal's counter"),
};
#undef ROW
#define NOPTIONS (sizeof s_options / sizeof s_options[0])

typedef struct cli_command {
    const char *group, *verb;
    const char *usage, *about, *takes, *needs;
    unsigned args; /* positional arguments: 0 or 1 */
    const char *args_what;
    int (*run)(access_t *a, const cli_opts_t *o, const char *arg);
} cli_command_t;

static void s_time(int64_t ms, char out[HB_RFC3339_MAX]) { hb_time_format(ms, out); }

static int s_devices_add(access_t *a, const cli_opts_t *o, const char *name)
{
    access_kind_t kind;
    if (access_kind_parse(o->kind, &kind) != 0) {
        fprintf(stderr, "branchd devices add: --kind '%s' is not a kind: %s\n", o->kind,
                access_kind_list());
        return EXIT_USAGE;
    }
    char token[ACCESS_TOKEN_TEXT], err[512];
    access_device_t dev;
    int rc = access_device_add(a, name, kind, o->counter, token, &dev, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "branchd devices add: %s\n", err);
        return rc == HB_EINVAL || rc == HB_EEXIST || rc == HB_ETOOBIG ? EXIT_USAGE : EXIT_FAILED;
    }
    if (access_kind_has_counter(kind))
        printf("device %s paired: the %s of counter %s, token id %s\n", dev.name,
               kind == ACCESS_KIND_COUNTER ? "terminal" : "evaluator", dev.counter, dev.token_id);
    else
        printf("device %s paired: %s, token id %s\n", dev.name, access_kind_name(kind),
               dev.token_id);
    printf("its token, shown this once (the device sends 'Authorization: Bearer TOKEN'):\n");
    /* The token alone on the last line, for scripts. */
    printf("%s\n", token);
    sodium_memzero(token, sizeof token);
    return 0;
}

static int s_devices_list(access_t *a, const cli_opts_t *o, const char *arg)
{
    (void)o, (void)arg;
    access_device_t *devs = calloc(ACCESS_DEVICES_MAX, sizeof *devs);
    size_t n = 0;
    if (!devs || access_device_list(a, devs, ACCESS_DEVICES_MAX, &n) != 0) {
        fprintf(stderr, "branchd devices list: the device store cannot be read\n");
        free(devs);
        return EXIT_FAILED;
    }
    printf("%-24s %-8s %-8s %-24s %s\n", "NAME", "KIND", "COUNTER", "PAIRED", "TOKEN ID");
    for (size_t i = 0; i < n && i < ACCESS_DEVICES_MAX; i++) {
        char at[HB_RFC3339_MAX];
        s_time(devs[i].paired_ms, at);
        printf("%-24s %-8s %-8s %-24s %s\n", devs[i].name, access_kind_name(devs[i].kind),
               devs[i].counter[0] ? devs[i].counter : "-", at, devs[i].token_id);
    }
    free(devs);
    return 0;
}

/* The exit code of `branchd KIND remove NAME` whose store answered `rc`,
 * and its words: "no NOUN 'NAME'" and `missing` (not there), the store's
 * error, or "NOUN NAME" and `done`. */
static int s_removed(const char *kind, const char *noun, const char *name, int rc,
                     const char *missing, const char *done)
{
    if (rc == HB_ENOTFOUND) {
        fprintf(stderr, "branchd %s remove: no %s '%s'%s\n", kind, noun, name, missing);
        return EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "branchd %s remove: %s\n", kind, hb_strerror(rc));
        return EXIT_FAILED;
    }
    printf("%s %s %s\n", noun, name, done);
    return 0;
}

static int s_devices_remove(access_t *a, const cli_opts_t *o, const char *name)
{
    (void)o;
    return s_removed("devices", "device", name, access_device_remove(a, name), " is paired",
                     "removed: its token no longer works");
}

/* The PIN: the first line of standard input, without its line end. */
static int s_read_pin(char pin[PIN_LINE_MAX])
{
    if (!fgets(pin, PIN_LINE_MAX, stdin))
        return HB_EINVAL;
    pin[strcspn(pin, "\r\n")] = '\0';
    return access_pin_ok(pin) ? 0 : HB_EINVAL;
}

static int s_staff_add(access_t *a, const cli_opts_t *o, const char *id)
{
    (void)o;
    char pin[PIN_LINE_MAX], err[512];
    if (s_read_pin(pin) != 0) {
        sodium_memzero(pin, sizeof pin);
        fprintf(stderr,
                "branchd staff add: give the PIN on standard input, %d to %d digits on one "
                "line\n",
                ACCESS_PIN_MIN, ACCESS_PIN_MAX);
        return EXIT_USAGE;
    }
    int rc = access_staff_add(a, id, pin, err, sizeof err);
    sodium_memzero(pin, sizeof pin);
    if (rc != 0) {
        fprintf(stderr, "branchd staff add: %s\n", err);
        return rc == HB_EINVAL || rc == HB_EEXIST || rc == HB_ETOOBIG ? EXIT_USAGE : EXIT_FAILED;
    }
    printf("staff %s added: they sign in at a counter terminal with their PIN\n", id);
    return 0;
}

static void s_print_staff(const char *id, int64_t added_ms, void *arg)
{
    (void)arg;
    char at[HB_RFC3339_MAX];
    s_time(added_ms, at);
    printf("%-24s %s\n", id, at);
}

static int s_staff_list(access_t *a, const cli_opts_t *o, const char *arg)
{
    (void)o, (void)arg;
    printf("%-24s %s\n", "STAFF", "ADDED");
    if (access_staff_list(a, s_print_staff, NULL) != 0) {
        fprintf(stderr, "branchd staff list: the staff store cannot be read\n");
        return EXIT_FAILED;
    }
    return 0;
}

static int s_staff_remove(access_t *a, const cli_opts_t *o, const char *id)
{
    (void)o;
    return s_removed("staff", "staff", id, access_staff_remove(a, id), "",
                     "removed, and signed out wherever they were signed in");
}

static const cli_command_t s_commands[] = {
    {"devices", "add", "NAME --kind KIND [--counter N] --data DIR",
     "pairs a device and prints its token, alone on the last line", "data kind counter",
     "data kind", 1, "the device's name", s_devices_add},
    {"devices", "list", "--data DIR", "lists the paired devices with their token ids", "data",
     "data", 0, NULL, s_devices_list},
    {"devices", "remove", "NAME --data DIR",
     "unpairs a device: its token stops working at its next request", "data", "data", 1,
     "the device's name", s_devices_remove},
    {"staff", "add", "ID --data DIR < PIN",
     "adds a staff id; the PIN (4 to 12 digits) is read from standard input", "data", "data", 1,
     "the staff id", s_staff_add},
    {"staff", "list", "--data DIR", "lists the staff ids", "data", "data", 0, NULL, s_staff_list},
    {"staff", "remove", "ID --data DIR", "removes a staff id and signs them out", "data", "data", 1,
     "the staff id", s_staff_remove},
};
#define NCOMMANDS (sizeof s_commands / sizeof s_commands[0])

static bool s_is_group(const char *word)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(s_commands[i].group, word) == 0)
            return true;
    return false;
}

static void s_usage(FILE *out, const char *group)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!group || strcmp(s_commands[i].group, group) == 0)
            fprintf(out, "  branchd %s %s %s\n      %s\n", s_commands[i].group, s_commands[i].verb,
                    s_commands[i].usage, s_commands[i].about);
}

void access_cli_usage(FILE *out)
{
    fprintf(out, "\nPairing devices and enrolling staff (also while branchd runs):\n");
    s_usage(out, NULL);
}

void access_cli_man(FILE *out)
{
    hb_man_text(out, "Pairing devices and enrolling staff, also while branchd runs (the "
                     "commands open the access store beside it, never the outbox). Exit codes: "
                     "0 done, 1 the store could not be read or written, 2 bad usage. Each "
                     "command takes --help.");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const cli_command_t *c = &s_commands[i];
        char title[160];
        snprintf(title, sizeof title, "branchd %s %s %s", c->group, c->verb, c->usage);
        hb_man_subsection(out, title);
        hb_man_text(out, c->about);
        hb_config_cli_t cli = {
            .prog = "branchd", .command = c->verb, .takes = c->takes, .needs = c->needs};
        hb_man_settings(out, s_options, NOPTIONS, &cli);
    }
}

int access_cli_main(int argc, char **argv)
{
    if (argc < 2 || !s_is_group(argv[1]))
        return -1;
    const char *group = argv[1];
    const cli_command_t *cmd = NULL;
    for (size_t i = 0; argc >= 3 && i < NCOMMANDS && !cmd; i++)
        if (strcmp(s_commands[i].group, group) == 0 && strcmp(s_commands[i].verb, argv[2]) == 0)
            cmd = &s_commands[i];
    if (!cmd) {
        if (argc >= 3)
            fprintf(stderr, "branchd %s: unknown command '%s'; the commands are:\n", group,
                    argv[2]);
        else
            fprintf(stderr, "branchd %s: which command? The commands are:\n", group);
        s_usage(stderr, group);
        return EXIT_USAGE;
    }
    char prog[32];
    snprintf(prog, sizeof prog, "branchd %s", group);
    hb_config_cli_t cli = {.prog = prog,
                           .command = cmd->verb,
                           .usage = cmd->usage,
                           .about = cmd->about,
                           .takes = cmd->takes,
                           .needs = cmd->needs,
                           .min_args = cmd->args,
                           .max_args = cmd->args,
                           .args_what = cmd->args_what};
    cli_opts_t o;
    memset(&o, 0, sizeof o);
    hb_config_parsed_t parsed;
    int rc = hb_config_args_main(s_options, NOPTIONS, &cli, &o, argc - 2, argv + 2, &parsed);
    if (rc >= 0)
        return rc;
    if (!o.data[0]) {
        fprintf(stderr, "branchd %s %s: --data must name branchd's data folder\n", group,
                cmd->verb);
        hb_config_free(s_options, NOPTIONS, &o);
        return EXIT_USAGE;
    }
    access_t *a = NULL;
    char err[512];
    if (access_open(o.data, &a, err, sizeof err) != 0) {
        fprintf(stderr, "branchd %s %s: %s\n", group, cmd->verb, err);
        hb_config_free(s_options, NOPTIONS, &o);
        return EXIT_FAILED;
    }
    rc = cmd->run(a, &o, parsed.n_args ? parsed.args[0] : NULL);
    access_close(&a);
    hb_config_free(s_options, NOPTIONS, &o);
    return rc;
}
