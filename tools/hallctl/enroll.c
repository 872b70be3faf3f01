/* hallctl's enrolment commands. Through HQ's API (docs/OPERATIONS.md,
 * "Enrolment and keys"): approving a request file a hall made with
 * `branchd enroll` (enroll approve), the list of what waits (enroll
 * pending), rejecting (enroll reject), pre-registering halls from a CSV
 * with one-time codes (enroll register), sending a hall's own request with
 * a code or a rotation (enroll submit), installing a certificate into the
 * hall's key folder (enroll install), and revoking a hall (halls revoke).
 *
 * And, on folders with no network, HQ's key pair (init-hq) and the older
 * offline enrolment (enroll HALL), where head office makes the hall's key
 * pair: kept for labs and tests, since the hall's secret is made away
 * from the hall. Every file is written to a temporary name, synced and
 * renamed. */
#include "hallctl.h"

#include "hallbus/cert.h"
#include "hallbus/enrol.h"
#include "hallbus/error.h"
#include "hallbus/time.h"
#include "hallbus/fs.h"
#include "hallbus/keyfolder.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

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

/* ------------------------------------------------ through HQ's API ---- */

static int s_read_request(const opts_t *o, const char *file, char **text)
{
    size_t len;
    int rc = hb_file_read_small(file, HB_ENROL_REQUEST_MAX, text, &len);
    if (rc != 0) {
        fprintf(stderr, "hallctl %s: cannot read %s: %s\n", o->command, file,
                rc == HB_ETOOBIG ? "larger than a request can be" : strerror(errno));
        return EXIT_FAILED;
    }
    return 0;
}

static int s_write_json(const opts_t *o, const char *path, const json_t *j, mode_t mode)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    int rc = text ? hb_file_write_durably(path, text, strlen(text), mode) : HB_ENOMEM;
    free(text);
    if (rc != 0)
        fprintf(stderr, "hallctl %s: cannot write %s: %s\n", o->command, path, strerror(errno));
    return rc == 0 ? 0 : EXIT_FAILED;
}

/* Installs HQ's answer into the hall's key folder (hb_keys_install: the
 * certificate must be for the pair there, signed by the key hq.key names). */
static int s_install(const opts_t *o, const json_t *answer, const char *keys)
{
    char err[512];
    hb_enrol_cert_info_t info;
    bool rotated = false;
    if (hb_keys_install(keys, hallctl_jstr(answer, "certificate"), hallctl_jstr(answer, "hq_key"),
                        &info, &rotated, err, sizeof err) != 0) {
        fprintf(stderr, "hallctl %s: %s\n", o->command, err);
        return EXIT_FAILED;
    }
    printf("installed hall %s's certificate (serial %llu, region %s, valid until %s) in "
           "%s/hall.key%s\n",
           info.hall, (unsigned long long)info.serial, info.region,
           hallctl_jstr(answer, "not_after"), keys,
           rotated ? "; the new key replaces the old: send branchd SIGHUP (systemctl reload "
                     "branchd) to switch"
                   : "");
    return 0;
}

/* POSTs `body` (taken) to HQ's `path`, wanting 201 Created: 0 with HQ's
 * answer in *a, or the exit code with *a NULL (a refusal printed). */
static int s_post_created(const opts_t *o, const char *path, json_t *body, json_t **a)
{
    int status = 0;
    *a = NULL;
    int rc = hallctl_request(o, o->hq, "--hq", "POST", path, body, &status, a);
    json_decref(body);
    if (rc == 0 && status != 201) {
        hallctl_print_refusal(o, status, *a);
        rc = EXIT_FAILED;
    }
    if (rc != 0) {
        json_decref(*a);
        *a = NULL;
    }
    return rc;
}

/* POSTs the request in the command's file (with `region`, unless NULL) to
 * HQ's `path`: s_post_created's answers. */
static int s_send_request(const opts_t *o, const char *path, const char *region, json_t **a)
{
    char *text = NULL;
    *a = NULL;
    int rc = s_read_request(o, o->args[0], &text);
    if (rc != 0)
        return rc;
    json_t *body = json_pack("{s:s}", "request", text);
    free(text);
    if (region)
        json_object_set_new(body, "region", json_string(region));
    return s_post_created(o, path, body, a);
}

static int s_enroll_approve(const opts_t *o)
{
    json_t *a;
    int rc = s_send_request(o, "/v1/enrolments", o->region, &a);
    if (rc == 0) {
        char out[PATH_MAX];
        if (o->out)
            snprintf(out, sizeof out, "%s", o->out);
        else
            snprintf(out, sizeof out, "%s.enrolment.json", hallctl_jstr(a, "hall"));
        rc = s_write_json(o, out, a, 0644);
        if (rc == 0)
            printf("approved hall %s in region %s: certificate serial %lld, valid until %s\n"
                   "  give %s to the hall; there: hallctl enroll install %s --keys DIR\n",
                   hallctl_jstr(a, "hall"), hallctl_jstr(a, "region"), hallctl_jint(a, "serial"),
                   hallctl_jstr(a, "not_after"), out, out);
    }
    json_decref(a);
    return rc;
}

static int s_enroll_install(const opts_t *o)
{
    json_error_t jerr;
    json_t *a = json_load_file(o->args[0], 0, &jerr);
    if (!json_is_object(a)) {
        fprintf(stderr, "hallctl %s: %s is not an enrolment answer: %s\n", o->command, o->args[0],
                jerr.text);
        json_decref(a);
        return EXIT_FAILED;
    }
    int rc = s_install(o, a, o->keys);
    json_decref(a);
    return rc;
}

static int s_enroll_submit(const opts_t *o)
{
    json_t *a;
    int rc = s_send_request(o, "/v1/enrolments/requests", NULL, &a);
    if (rc == 0)
        rc = s_install(o, a, o->keys);
    json_decref(a);
    return rc;
}

static void s_print_pending(const opts_t *o, const json_t *a)
{
    (void)o;
    const json_t *p = json_object_get(a, "pending"), *r = json_object_get(a, "registered"), *x;
    size_t i;
    printf("waiting for approval: %zu\n", json_array_size(p));
    json_array_foreach (p, i, x)
        printf("  %-12s %-6s key %s region %s made %s\n", hallctl_jstr(x, "hall"),
               hallctl_jstr(x, "kind"), hallctl_jstr(x, "public_key"), hallctl_jstr(x, "region"),
               hallctl_jstr(x, "created"));
    printf("registered, code not used yet: %zu\n", json_array_size(r));
    json_array_foreach (r, i, x)
        printf("  %-12s region %s code until %s\n", hallctl_jstr(x, "hall"),
               hallctl_jstr(x, "region"), hallctl_jstr(x, "code_expires"));
}

static int s_enroll_pending(const opts_t *o)
{
    return hallctl_do(o, o->hq, "--hq", "HQ", "GET", "/v1/enrolments", NULL, s_print_pending, NULL);
}

static void s_print_state(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("hall %s: %s\n", hallctl_jstr(a, "hall"), hallctl_jstr(a, "state"));
}

/* POST to "<prefix><hall><suffix>" with the body from `members` ({} when
 * none is given). */
static int s_hall_post(const opts_t *o, const char *prefix, const char *suffix,
                       const hallctl_member_t *members, size_t n)
{
    if (hallctl_check_hall_id(o, o->args[0]) != 0)
        return EXIT_USAGE;
    json_t *body = NULL;
    if (hallctl_body(o, members, n, &body) != 0)
        return EXIT_USAGE;
    char path[API_PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", prefix, o->args[0], suffix);
    return hallctl_do(o, o->hq, "--hq", "HQ", "POST", path, body, s_print_state, NULL);
}

/* The reason, when given, goes to HQ's audit log with the refusal. */
static int s_enroll_reject(const opts_t *o)
{
    const hallctl_member_t m[] = {{"reason", o->reason, "--reason", M_STR}};
    return s_hall_post(o, "/v1/enrolments/", "/reject", m, NMEMBERS(m));
}

static int s_halls_revoke(const opts_t *o)
{
    return s_hall_post(o, "/v1/halls/", "/revoke", NULL, 0);
}

/* One CSV field at *p (RFC 4180 quotes allowed), into `out`. */
static int s_csv_field(const char **p, char *out, size_t outlen)
{
    size_t n = 0;
    const char *s = *p;
    bool quoted = *s == '"';
    if (quoted)
        s++;
    while (*s && (quoted || (*s != ',' && *s != '\n' && *s != '\r'))) {
        if (quoted && *s == '"') {
            if (s[1] == '"') {
                s++;
            } else {
                s++;
                quoted = false;
                continue;
            }
        }
        if (n + 1 >= outlen)
            return -1;
        out[n++] = *s++;
    }
    out[n] = '\0';
    if (quoted)
        return -1;
    if (*s == ',')
        s++;
    *p = s;
    return 0;
}

/* hall,region,name,address — a header line naming them is skipped. */
static int s_enroll_register(const opts_t *o)
{
    char *text = NULL;
    size_t len;
    if (hb_file_read_small(o->args[0], 16 << 20, &text, &len) != 0) {
        fprintf(stderr, "hallctl %s: cannot read %s\n", o->command, o->args[0]);
        return EXIT_FAILED;
    }
    json_t *halls = json_array();
    int rc = 0, lineno = 0;
    for (const char *p = text; *p && rc == 0;) {
        lineno++;
        char f[4][512] = {"", "", "", ""};
        int nf = 0;
        while (*p && *p != '\n' && *p != '\r' && nf < 4) {
            if (s_csv_field(&p, f[nf], sizeof f[nf]) != 0) {
                fprintf(stderr,
                        "hallctl %s: %s:%d: a field is too long or its quote is not "
                        "closed\n",
                        o->command, o->args[0], lineno);
                rc = EXIT_USAGE;
                break;
            }
            nf++;
        }
        while (*p && *p != '\n')
            p++;
        if (*p)
            p++;
        if (rc != 0 || nf == 0 || (lineno == 1 && strcmp(f[0], "hall") == 0))
            continue;
        if (!hb_hall_id_valid(f[0]) || !f[1][0]) {
            fprintf(stderr,
                    "hallctl %s: %s:%d: expected hall,region[,name[,address]] with a "
                    "hall id first, not '%.64s'\n",
                    o->command, o->args[0], lineno, f[0]);
            rc = EXIT_USAGE;
            break;
        }
        json_t *row = json_pack("{s:s, s:s}", "hall", f[0], "region", f[1]);
        if (f[2][0])
            json_object_set_new(row, "name", json_string(f[2]));
        if (f[3][0])
            json_object_set_new(row, "address", json_string(f[3]));
        json_array_append_new(halls, row);
    }
    free(text);
    if (rc != 0) {
        json_decref(halls);
        return rc;
    }
    json_t *a;
    rc = s_post_created(o, "/v1/enrolments/register", json_pack("{s:o}", "halls", halls), &a);
    if (rc == 0) {
        /* The codes are shown once: into a file only its owner reads. */
        const json_t *codes = json_object_get(a, "codes"), *c;
        size_t i, used = 0, cap = json_array_size(codes) * 64 + 64;
        char *csv = malloc(cap);
        if (!csv) {
            json_decref(a);
            return EXIT_FAILED;
        }
        used += (size_t)snprintf(csv, cap, "hall,code\n");
        json_array_foreach (codes, i, c)
            used += (size_t)snprintf(csv + used, cap - used, "%s,%s\n", hallctl_jstr(c, "hall"),
                                     hallctl_jstr(c, "code"));
        if (hb_file_write_durably(o->out, csv, used, 0600) != 0) {
            fprintf(stderr, "hallctl %s: cannot write %s\n", o->command, o->out);
            rc = EXIT_FAILED;
        } else {
            printf("registered %zu hall(s); their one-time codes are in %s (mode 0600): give each "
                   "hall its own, apart from the CSV\n",
                   json_array_size(codes), o->out);
        }
        sodium_memzero(csv, cap);
        free(csv);
    }
    json_decref(a);
    return rc;
}

const hallctl_command_t hallctl_enroll_commands[] = {
    {"enroll-approve", s_enroll_approve,
     "enroll approve REQUEST-FILE [--region CITY] [--out ANSWER] --hq URL",
     "approve a hall's request (from branchd enroll): HQ signs its certificate and places it in "
     "its city; writes the answer the hall installs (HALL.enrolment.json)",
     "region out hq", "hq", 1, 1, "a request file"},
    {"enroll-install", s_enroll_install, "enroll install ANSWER --keys DIR",
     "install HQ's answer (certificate and hq.key) into the hall's key folder, after checking "
     "HQ's signature and that the key is the hall's",
     "keys", "keys", 1, 1, "an answer file"},
    {"enroll-submit", s_enroll_submit, "enroll submit REQUEST-FILE --keys DIR --hq URL",
     "send the hall's own request (with a one-time code, or a rotation from branchd rotate) "
     "and install the certificate HQ answers with",
     "keys hq", "keys hq", 1, 1, "a request file"},
    {"enroll-pending", s_enroll_pending, "enroll pending --hq URL",
     "requests waiting for approval, and pre-registered halls whose code is unused", "hq", "hq", 0,
     0, NULL},
    {"enroll-reject", s_enroll_reject, "enroll reject HALL [--reason TEXT] --hq URL",
     "reject the hall's waiting request (the reason is kept in HQ's audit log)", "hq reason", "hq",
     1, 1, "a hall id"},
    {"enroll-register", s_enroll_register, "enroll register CSV --out CODES --hq URL",
     "pre-register halls from a CSV (hall,region[,name[,address]]): each gets a one-time code, "
     "written to CODES (0600)",
     "out hq", "out hq", 1, 1, "a CSV file"},
    {"halls-revoke", s_halls_revoke, "halls revoke HALL --hq URL",
     "revoke a hall: its connection is closed at once and its key refused from now on", "hq", "hq",
     1, 1, "a hall id"},

    {"enroll", s_enroll,
     "enroll HALL --region REGION --hq-keys DIR --out DIR --hq-endpoint tcp://HOST:PORT "
     "[--force]",
     "offline enrolment for labs and tests: head office makes the hall's key pair (the "
     "hall's secret is made away from the hall; use branchd enroll and enroll approve)",
     "region hq-keys out hq-endpoint force", "region hq-keys out hq-endpoint", 1, 1, "a hall id"},
    {"init-hq", s_init_hq, "init-hq --hq-keys DIR",
     "create HQ's key pair (hqd also does this on first start)", "hq-keys", "hq-keys", 0, 0, NULL},
};
const size_t hallctl_enroll_ncommands =
    sizeof hallctl_enroll_commands / sizeof hallctl_enroll_commands[0];
