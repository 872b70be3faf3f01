/* `branchd enroll` and `branchd rotate`: the hall makes its own key pair
 * and a request for head office (enrol.h has the format), so its secret
 * never leaves the hall. Commands, not the daemon: they write files and
 * talk to nobody; the request goes to head office by hand (hallctl enroll
 * approve) or, with a one-time code or for a rotation, by `hallctl enroll
 * submit`, which also installs the answer. The running branchd switches to
 * a rotated key on SIGHUP (main.c), and rotates by itself over the link
 * before its certificate expires (keyroll.c). */
#include "enrol.h"

#include "hallbus/cert.h"
#include "hallbus/enrol.h"
#include "hallbus/fs.h"
#include "hallbus/keyfolder.h"
#include "hallbus/names.h"

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct enrol_args {
    const char *hall, *hq_endpoint, *out, *region, *code, *keys;
} enrol_args_t;

/* --name VALUE pairs into `a`; 0, or 2 (usage) with the reason printed. */
static int s_args(const char *cmd, int argc, char **argv, enrol_args_t *a)
{
    static const struct {
        const char *name;
        size_t off;
    } rows[] = {
        {"--hall", offsetof(enrol_args_t, hall)},
        {"--hq-endpoint", offsetof(enrol_args_t, hq_endpoint)},
        {"--out", offsetof(enrol_args_t, out)},
        {"--region", offsetof(enrol_args_t, region)},
        {"--code", offsetof(enrol_args_t, code)},
        {"--keys", offsetof(enrol_args_t, keys)},
    };
    for (int i = 2; i < argc; i += 2) {
        size_t r = HB_ROW_FIND(rows, sizeof rows / sizeof rows[0], argv[i]);
        if (r == sizeof rows / sizeof rows[0] || i + 1 >= argc) {
            fprintf(stderr, "branchd %s: unknown option or missing value: %s\n", cmd, argv[i]);
            return 2;
        }
        *(const char **)((char *)a + rows[r].off) = argv[i + 1];
    }
    return 0;
}

static int s_enroll(int argc, char **argv)
{
    enrol_args_t a = {0};
    char err[512], path[PATH_MAX + 64], out[PATH_MAX];
    if (s_args("enroll", argc, argv, &a) != 0)
        return 2;
    if (!a.hall || !a.hq_endpoint || !a.out) {
        fprintf(stderr, "usage: branchd enroll --hall ID --hq-endpoint tcp://HOST:PORT --out DIR "
                        "[--region CITY] [--code CODE]\n");
        return 2;
    }
    if (strncmp(a.hq_endpoint, "tcp://", 6) != 0) {
        fprintf(stderr, "branchd enroll: --hq-endpoint must be tcp://HOST:PORT, not '%s'\n",
                a.hq_endpoint);
        return 2;
    }
    hb_cert_t pair;
    hb_enrol_request_t req;
    if (hb_cert_generate(&pair) != 0 ||
        hb_enrol_request_init(&req, HB_ENROL_NEW, a.hall, pair.public_key, a.region, a.code, err,
                              sizeof err) != 0) {
        fprintf(stderr, "branchd enroll: %s\n", err);
        return 2;
    }
    if (hb_mkdir_p(a.out, 0700) != 0 || !realpath(a.out, out)) {
        fprintf(stderr, "branchd enroll: cannot use %s as the hall's folder: %s\n", a.out,
                strerror(errno));
        return 1;
    }
    snprintf(path, sizeof path, "%s/hall.key", out);
    if (access(path, F_OK) == 0) {
        fprintf(stderr,
                "branchd enroll: %s exists: this hall has a key already (a new one comes by "
                "`branchd rotate`; or move the folder away to start over)\n",
                path);
        return 1;
    }
    hb_cert_set_meta(&pair, "hall", a.hall);
    char text[HB_ENROL_REQUEST_MAX], conf[PATH_MAX * 3], reqpath[PATH_MAX + 64];
    snprintf(reqpath, sizeof reqpath, "%s/enrolment-request.txt", out);
    int n = snprintf(conf, sizeof conf,
                     "# branchd settings for hall %s, written by branchd enroll.\n"
                     "# Every setting is listed by `branchd --help`.\n"
                     "id = %s\nkeys = \"%s\"\nhq = %s\ndata = \"%s/data\"\n",
                     a.hall, a.hall, out, a.hq_endpoint, out);
    char confpath[PATH_MAX + 64];
    snprintf(confpath, sizeof confpath, "%s/branchd.conf", out);
    if (hb_cert_save(&pair, path, true) != 0 ||
        hb_enrol_request_format(&req, text, sizeof text) != 0 ||
        hb_file_write_durably(reqpath, text, strlen(text), 0644) != 0 ||
        (access(confpath, F_OK) != 0 &&
         hb_file_write_durably(confpath, conf, (size_t)n, 0640) != 0)) {
        fprintf(stderr, "branchd enroll: cannot write into %s: %s\n", out, strerror(errno));
        return 1;
    }
    char fp[HB_ENROL_FINGERPRINT_MAX];
    hb_enrol_fingerprint(pair.public_key, fp);
    printf("hall %s: key pair %s (secret %s_secret, mode 0600; it never leaves this machine)\n"
           "  key fingerprint: %s (head office sees the same beside the request)\n"
           "  request: %s\n  config:  %s\n"
           "  next: %s\n",
           a.hall, path, path, fp, reqpath, confpath,
           a.code ? "hallctl enroll submit REQUEST --keys DIR --hq URL (the code approves it)"
                  : "give the request to head office (hallctl enroll approve REQUEST), then "
                    "install its answer here: hallctl enroll install ANSWER --keys DIR");
    return 0;
}

static int s_rotate(int argc, char **argv)
{
    enrol_args_t a = {0};
    char err[512], reqpath[PATH_MAX + 64], text[HB_ENROL_REQUEST_MAX], key[HB_CERT_KEY_Z85];
    if (s_args("rotate", argc, argv, &a) != 0)
        return 2;
    if (!a.keys) {
        fprintf(stderr, "usage: branchd rotate --keys DIR\n");
        return 2;
    }
    if (hb_keys_rotation_request(a.keys, text, sizeof text, key, err, sizeof err) != 0) {
        fprintf(stderr, "branchd rotate: %s\n", err);
        return 1;
    }
    snprintf(reqpath, sizeof reqpath, "%s/rotation-request.txt", a.keys);
    if (hb_file_write_durably(reqpath, text, strlen(text), 0644) != 0) {
        fprintf(stderr, "branchd rotate: cannot write %s: %s\n", reqpath, strerror(errno));
        return 1;
    }
    printf("new key pair %s/hall.next.key (%s); rotation request %s\n"
           "  next: hallctl enroll submit %s --keys %s --hq URL, then systemctl reload branchd\n"
           "  (a running branchd does this by itself before expiry: rotate_before)\n",
           a.keys, key, reqpath, reqpath, a.keys);
    return 0;
}

int branchd_enrol_cli_main(int argc, char **argv)
{
    if (argc < 2)
        return -1;
    if (strcmp(argv[1], "enroll") == 0)
        return s_enroll(argc, argv);
    if (strcmp(argv[1], "rotate") == 0)
        return s_rotate(argc, argv);
    return -1;
}
