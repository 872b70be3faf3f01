/* hallctl's key commands: HQ's key pair (init-hq) and a hall's enrolment
 * (enroll): the hall's CURVE key pair, its certificate in HQ's halls/
 * folder, and the hall's folder with the config branchd starts from. No
 * network: both work on folders, with every file written to a temporary
 * name, synced and renamed. */
#include "hallctl.h"

#include "hallbus/cert.h"
#include "hallbus/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    const char *hall = o->args[0];
    char path[PATH_MAX + 64], err[256];
    hb_cert_t hq;
    if (hallctl_check_hall_id(o, hall) != 0)
        return EXIT_USAGE;
    if (strncmp(o->hq_endpoint, "tcp://", 6) != 0) {
        fprintf(stderr, "hallctl %s: --hq-endpoint must be tcp://HOST:PORT, not '%s'\n", o->command,
                o->hq_endpoint);
        return EXIT_USAGE;
    }
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


const hallctl_command_t hallctl_enroll_commands[] = {
    {"enroll", s_enroll,
     "enroll HALL --region REGION --hq-keys DIR --out DIR --hq-endpoint tcp://HOST:PORT "
     "[--force]",
     "make a hall's key pair, enrol it at HQ, write the hall's folder and config",
     "region hq-keys out hq-endpoint force", "region hq-keys out hq-endpoint", 1, 1,
     "a hall id"},
    {"init-hq", s_init_hq, "init-hq --hq-keys DIR",
     "create HQ's key pair (hqd also does this on first start)", "hq-keys", "hq-keys", 0, 0,
     NULL},
};
const size_t hallctl_enroll_ncommands =
    sizeof hallctl_enroll_commands / sizeof hallctl_enroll_commands[0];
