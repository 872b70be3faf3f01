/* hallctl: the operator's command line. Enrols halls (their CURVE key pairs,
 * HQ's halls/ folder, the hall's config) and reads HQ's HTTP API. Commands
 * are one table; each parses its own options and names what is wrong.
 * Exit codes: 0 done, 1 the operation failed, 2 bad usage. */
#include "hallbus/cert.h"
#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/httpc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2

typedef struct opts {
    const char *positional;
    const char *region;
    const char *hq_keys;
    const char *out;
    const char *hq_endpoint;
    const char *hq;
    int force;
} opts_t;

typedef struct command {
    const char *name;
    int (*run)(const opts_t *o);
    const char *usage;
    const char *help;
    unsigned needs; /* NEED_* bits */
} command_t;

enum { NEED_HALL = 1, NEED_REGION = 2, NEED_HQ_KEYS = 4, NEED_OUT = 8, NEED_HQ = 16 };

static int s_mkdir(const char *dir, mode_t mode)
{
    if (hb_mkdir_p(dir, mode) != 0) {
        fprintf(stderr, "hallctl: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int s_write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 128];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int ok = w == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int s_init_hq(const opts_t *o)
{
    char path[PATH_MAX], err[256];
    if (s_mkdir(o->hq_keys, 0750) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/halls", o->hq_keys);
    if (s_mkdir(path, 0755) != 0)
        return 1;
    snprintf(path, sizeof path, "%s/hq.key", o->hq_keys);
    hb_cert_t c;
    if (hb_cert_load(path, &c, err, sizeof err) == 0) {
        printf("HQ's key pair already exists: %s\n", path);
        return 0;
    }
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "hallctl: %s exists but cannot be used: %s\n", path, err);
        return 1;
    }
    if (hb_cert_generate(&c) != 0 || hb_cert_set_meta(&c, "role", "hq") != 0 ||
        hb_cert_save(&c, path, true) != 0) {
        fprintf(stderr, "hallctl: cannot write %s\n", path);
        return 1;
    }
    printf("created HQ's key pair %s (and %s_secret)\n", path, path);
    return 0;
}

static int s_enroll(const opts_t *o)
{
    const char *hall = o->positional;
    char path[PATH_MAX + 64], err[256];
    hb_cert_t hq;
    snprintf(path, sizeof path, "%s/hq.key", o->hq_keys);
    if (hb_cert_load_public(path, &hq, err, sizeof err) != 0) {
        fprintf(stderr,
                "hallctl: HQ has no usable key pair in %s (%s).\n"
                "Start hqd once with --keys %s, or run: hallctl init-hq --hq-keys %s\n",
                o->hq_keys, err, o->hq_keys, o->hq_keys);
        return 1;
    }
    char enrolled[PATH_MAX];
    snprintf(path, sizeof path, "%s/halls", o->hq_keys);
    if (s_mkdir(path, 0755) != 0)
        return 1;
    snprintf(enrolled, sizeof enrolled, "%s/halls/%s.key", o->hq_keys, hall);
    if (access(enrolled, F_OK) == 0 && !o->force) {
        fprintf(stderr,
                "hallctl: hall %s is already enrolled (%s); use --force to give it a new key "
                "(its old key stops working)\n",
                hall, enrolled);
        return 1;
    }
    char out_abs[PATH_MAX];
    if (s_mkdir(o->out, 0700) != 0 || !realpath(o->out, out_abs)) {
        fprintf(stderr, "hallctl: cannot use %s as the output folder\n", o->out);
        return 1;
    }
    hb_cert_t c;
    if (hb_cert_generate(&c) != 0 || hb_cert_set_meta(&c, "hall", hall) != 0 ||
        hb_cert_set_meta(&c, "region", o->region) != 0) {
        fprintf(stderr, "hallctl: cannot make a key pair (region must be printable, under 128 "
                        "bytes, without quotes)\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s/hall.key", out_abs);
    if (hb_cert_save(&c, path, true) != 0) {
        fprintf(stderr, "hallctl: cannot write %s\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/hq.key", out_abs);
    if (hb_cert_save(&hq, path, false) != 0) {
        fprintf(stderr, "hallctl: cannot write %s\n", path);
        return 1;
    }
    char conf[PATH_MAX * 3];
    snprintf(conf, sizeof conf,
             "# branchd settings for hall %s, written by hallctl enroll.\n"
             "# Every setting is listed by `branchd --help`.\n"
             "id = %s\n"
             "keys = \"%s\"\n"
             "hq = %s\n"
             "data = \"%s/data\"\n",
             hall, hall, out_abs, o->hq_endpoint, out_abs);
    snprintf(path, sizeof path, "%s/branchd.conf", out_abs);
    if (s_write_file(path, conf, 0640) != 0) {
        fprintf(stderr, "hallctl: cannot write %s\n", path);
        return 1;
    }
    /* Last: once HQ's folder holds the certificate, the hall may connect. */
    hb_cert_t pub = c;
    pub.secret_key[0] = '\0';
    if (hb_cert_save(&pub, enrolled, false) != 0) {
        fprintf(stderr, "hallctl: cannot write %s\n", enrolled);
        return 1;
    }
    printf("enrolled hall %s (region %s)\n  HQ: %s\n  hall folder: %s (hall.key, "
           "hall.key_secret, hq.key, branchd.conf)\n  run: branchd --config %s/branchd.conf\n",
           hall, o->region, enrolled, out_abs, out_abs);
    return 0;
}

static int s_get(const opts_t *o, const char *path)
{
    hb_httpc_resp_t r;
    char err[256];
    if (hb_httpc_request(o->hq, "GET", path, NULL, 10000, &r, err, sizeof err) != 0) {
        fprintf(stderr, "hallctl: %s\n", err);
        return 1;
    }
    json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
    int rc = r.status == 200 ? 0 : 1;
    if (!j) {
        fprintf(stderr, "hallctl: HQ answered %d with a body that is not JSON\n", r.status);
        rc = 1;
    } else if (rc != 0) {
        const char *reason = json_string_value(json_object_get(j, "reason"));
        fprintf(stderr, "hallctl: HQ answered %d: %s\n", r.status, reason ? reason : r.body);
    } else {
        char *text = json_dumps(j, JSON_INDENT(2));
        if (text)
            printf("%s\n", text);
        free(text);
    }
    json_decref(j);
    hb_httpc_resp_free(&r);
    return rc;
}

static int s_halls(const opts_t *o) { return s_get(o, "/v1/halls"); }

static int s_hall(const opts_t *o)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/%s", o->positional);
    return s_get(o, path);
}

static int s_help(const opts_t *o);

static const command_t s_commands[] = {
    {"enroll", s_enroll,
     "enroll HALL --region REGION --hq-keys DIR --out DIR [--hq-endpoint tcp://HOST:PORT] [--force]",
     "make a hall's key pair, enrol it at HQ, write the hall's folder and config",
     NEED_HALL | NEED_REGION | NEED_HQ_KEYS | NEED_OUT},
    {"init-hq", s_init_hq, "init-hq --hq-keys DIR",
     "create HQ's key pair (hqd also does this on first start)", NEED_HQ_KEYS},
    {"halls", s_halls, "halls --hq http://HOST:PORT", "list the halls HQ knows", NEED_HQ},
    {"hall", s_hall, "hall HALL --hq http://HOST:PORT", "show one hall as HQ sees it",
     NEED_HALL | NEED_HQ},
    {"help", s_help, "help", "print this", 0},
};
#define NCOMMANDS (sizeof s_commands / sizeof s_commands[0])

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hallctl COMMAND [options]\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  hallctl %s\n      %s\n", s_commands[i].usage, s_commands[i].help);
}

static int s_help(const opts_t *o)
{
    (void)o;
    s_usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const command_t *cmd = NULL;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            cmd = &s_commands[i];
    if (!cmd) {
        fprintf(stderr, "hallctl: unknown command '%s'\n", argv[1]);
        s_usage(stderr);
        return EXIT_USAGE;
    }
    opts_t o = {.hq_endpoint = "tcp://127.0.0.1:7400"};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        if (strcmp(a, "--region") == 0)
            target = &o.region;
        else if (strcmp(a, "--hq-keys") == 0)
            target = &o.hq_keys;
        else if (strcmp(a, "--out") == 0)
            target = &o.out;
        else if (strcmp(a, "--hq-endpoint") == 0)
            target = &o.hq_endpoint;
        else if (strcmp(a, "--hq") == 0)
            target = &o.hq;
        else if (strcmp(a, "--force") == 0) {
            o.force = 1;
            continue;
        } else if (strcmp(a, "--help") == 0) {
            printf("usage: hallctl %s\n  %s\n", cmd->usage, cmd->help);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "hallctl %s: unknown option '%s'\nusage: hallctl %s\n", cmd->name, a,
                    cmd->usage);
            return EXIT_USAGE;
        } else if (!o.positional) {
            o.positional = a;
            continue;
        } else {
            fprintf(stderr, "hallctl %s: unexpected argument '%s'\n", cmd->name, a);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "hallctl %s: %s needs a value\n", cmd->name, a);
            return EXIT_USAGE;
        }
        *target = argv[++i];
    }
    struct {
        unsigned bit;
        const void *value;
        const char *what;
    } checks[] = {
        {NEED_HALL, o.positional, "a hall id"}, {NEED_REGION, o.region, "--region"},
        {NEED_HQ_KEYS, o.hq_keys, "--hq-keys"}, {NEED_OUT, o.out, "--out"},
        {NEED_HQ, o.hq, "--hq"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if ((cmd->needs & checks[i].bit) && !checks[i].value) {
            fprintf(stderr, "hallctl %s: %s is required\nusage: hallctl %s\n", cmd->name,
                    checks[i].what, cmd->usage);
            return EXIT_USAGE;
        }
    }
    if (!(cmd->needs & NEED_HALL) && o.positional) {
        fprintf(stderr, "hallctl %s: unexpected argument '%s'\n", cmd->name, o.positional);
        return EXIT_USAGE;
    }
    if ((cmd->needs & NEED_HALL) && !hb_hall_id_valid(o.positional)) {
        fprintf(stderr, "hallctl %s: '%s' is not a hall id (1 to 32 of A-Z a-z 0-9 - _)\n",
                cmd->name, o.positional);
        return EXIT_USAGE;
    }
    if ((cmd->needs & NEED_OUT) && strncmp(o.hq_endpoint, "tcp://", 6) != 0) {
        fprintf(stderr, "hallctl %s: --hq-endpoint must be tcp://HOST:PORT, not '%s'\n",
                cmd->name, o.hq_endpoint);
        return EXIT_USAGE;
    }
    return cmd->run(&o);
}
