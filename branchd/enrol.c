/* `branchd enroll` and `branchd rotate`: the hall makes its own key pair
 * and a request for head office (enrol.h has the format), so its secret
 * never leaves the hall. Commands, not the daemon: they write files and
 * talk to nobody; the request goes to head office by hand (hallctl enroll
 * approve) or, with a one-time code or for a rotation, by `hallctl enroll
 * submit`, which also installs the answer. The running branchd switches to
 * a rotated key on SIGHUP (main.c). */
#include "enrol.h"

#include "hallbus/cert.h"
#include "hallbus/enrol.h"
#include "hallbus/fs.h"

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
        size_t r = 0;
        while (r < sizeof rows / sizeof rows[0] && strcmp(rows[r].name, argv[i]) != 0)
            r++;
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
    printf("hall %s: key pair %s (secret %s_secret, mode 0600; it never leaves this machine)\n"
           "  request: %s\n  config:  %s\n"
           "  next: %s\n",
           a.hall, path, path, reqpath, confpath,
           a.code ? "hallctl enroll submit REQUEST --keys DIR --hq URL (the code approves it)"
                  : "give the request to head office (hallctl enroll approve REQUEST), then "
                    "install its answer here: hallctl enroll install ANSWER --keys DIR");
    return 0;
}

static int s_rotate(int argc, char **argv)
{
    enrol_args_t a = {0};
    char err[512], path[PATH_MAX + 64], next[PATH_MAX + 64], reqpath[PATH_MAX + 64];
    if (s_args("rotate", argc, argv, &a) != 0)
        return 2;
    if (!a.keys) {
        fprintf(stderr, "usage: branchd rotate --keys DIR\n");
        return 2;
    }
    hb_cert_t cur, hq, fresh;
    snprintf(path, sizeof path, "%s/hall.key", a.keys);
    if (hb_cert_load(path, &cur, err, sizeof err) != 0 || !cur.secret_key[0]) {
        fprintf(stderr, "branchd rotate: the hall's current pair %s is not usable: %s\n", path,
                cur.secret_key[0] ? err : "no secret key");
        return 1;
    }
    const char *hall = hb_cert_meta(&cur, "hall");
    snprintf(next, sizeof next, "%s/hq.key", a.keys);
    if (!hall || hb_cert_load_public(next, &hq, err, sizeof err) != 0) {
        fprintf(stderr, "branchd rotate: %s\n", hall ? err : "hall.key names no hall");
        return 1;
    }
    hb_enrol_request_t req;
    snprintf(next, sizeof next, "%s/hall.next.key", a.keys);
    /* A rotation begun and not finished keeps its pair: sending the
     * request again must not make a third key. */
    if (hb_cert_load(next, &fresh, err, sizeof err) != 0 || !fresh.secret_key[0]) {
        if (hb_cert_generate(&fresh) != 0 || hb_cert_set_meta(&fresh, "hall", hall) != 0 ||
            hb_cert_save(&fresh, next, true) != 0) {
            fprintf(stderr, "branchd rotate: cannot write %s\n", next);
            return 1;
        }
    }
    if (hb_enrol_request_init(&req, HB_ENROL_ROTATE, hall, fresh.public_key, NULL, NULL, err,
                              sizeof err) != 0)
        goto fail;
    snprintf(req.current_key, sizeof req.current_key, "%s", cur.public_key);
    if (hb_enrol_request_prove(&req, cur.secret_key, fresh.secret_key, hq.public_key, err,
                               sizeof err) != 0)
        goto fail;
    char text[HB_ENROL_REQUEST_MAX];
    snprintf(reqpath, sizeof reqpath, "%s/rotation-request.txt", a.keys);
    if (hb_enrol_request_format(&req, text, sizeof text) != 0 ||
        hb_file_write_durably(reqpath, text, strlen(text), 0644) != 0) {
        snprintf(err, sizeof err, "cannot write %.400s", reqpath);
        goto fail;
    }
    printf("hall %s: new key pair %s; rotation request %s\n"
           "  next: hallctl enroll submit %s --keys %s --hq URL, then systemctl reload branchd\n",
           hall, next, reqpath, reqpath, a.keys);
    return 0;
fail:
    fprintf(stderr, "branchd rotate: %s\n", err);
    return 1;
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
