/* hallctl: the operator's command line. Enrols halls (their CURVE key pairs,
 * HQ's halls/ folder, the hall's config), reads HQ's HTTP API, and drives a
 * hall's local API (tickets, counters, complaints, feedback, devices, the
 * live hall) the way a kiosk or a counter terminal would.
 *
 * Commands and options are two tables: each command names the options it
 * takes and those it needs, so parsing, --help and every usage error come
 * from one place. Request bodies are built with jansson, never pasted.
 * Exit codes: 0 done, 1 the operation failed or the server refused it (its
 * reason printed), 2 bad usage (the option named). */
#include "hallbus/cert.h"
#include "hallbus/error.h"
#include "hallbus/fs.h"
#include "hallbus/httpc.h"
#include "hallbus/time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define ARGS_MAX 2
#define API_PATH_MAX 512 /* a path we build: ids are at most 64 bytes, escaped 192 */
#define API_TIMEOUT_MS 10000

typedef struct opts {
    const char *command;
    const char *args[ARGS_MAX];
    size_t n_args;
    /* enrolment and HQ */
    const char *region, *hq_keys, *out, *hq_endpoint, *hq;
    /* a hall's local API */
    const char *hall, *priority, *source, *reason, *staff, *services, *ticket, *business_type,
        *outcome, *amount, *currency, *channel, *category, *severity, *text, *state, *by, *level,
        *resolution, *satisfied, *score, *counter, *kind, *detail;
    bool force, json;
    /* the head office's control plane (with --state, --by and --level above) */
    const char *name, *parent, *city, *tags, *note, *halls;
    bool drafts, csv;
} opts_t;

typedef struct option_def {
    const char *name;
    size_t offset; /* of its `const char *` in opts_t, or of its bool for a flag */
    bool flag;
} option_def_t;

#define OPT(name, field)                                                                           \
    {                                                                                              \
        name, offsetof(opts_t, field), false                                                       \
    }
#define FLAG(name, field)                                                                          \
    {                                                                                              \
        name, offsetof(opts_t, field), true                                                        \
    }

static const option_def_t s_options[] = {
    OPT("--region", region),
    OPT("--hq-keys", hq_keys),
    OPT("--out", out),
    OPT("--hq-endpoint", hq_endpoint),
    OPT("--hq", hq),
    FLAG("--force", force),
    OPT("--hall", hall),
    FLAG("--json", json),
    OPT("--priority", priority),
    OPT("--source", source),
    OPT("--reason", reason),
    OPT("--staff", staff),
    OPT("--services", services),
    OPT("--ticket", ticket),
    OPT("--business-type", business_type),
    OPT("--outcome", outcome),
    OPT("--amount", amount),
    OPT("--currency", currency),
    OPT("--channel", channel),
    OPT("--category", category),
    OPT("--severity", severity),
    OPT("--text", text),
    OPT("--state", state),
    OPT("--by", by),
    OPT("--level", level),
    OPT("--resolution", resolution),
    OPT("--satisfied", satisfied),
    OPT("--score", score),
    OPT("--counter", counter),
    OPT("--kind", kind),
    OPT("--detail", detail),
    /* the head office's control plane */
    OPT("--name", name),
    OPT("--parent", parent),
    OPT("--city", city),
    OPT("--tags", tags),
    OPT("--note", note),
    OPT("--halls", halls),
    FLAG("--drafts", drafts),
    FLAG("--csv", csv),
};
#define NOPTIONS (sizeof s_options / sizeof s_options[0])

typedef struct command {
    const char *name;
    int (*run)(const opts_t *o);
    const char *usage; /* after "hallctl " */
    const char *help;
    const char *options;  /* the options it takes, space separated (--json, --help: all) */
    const char *required; /* the options it cannot do without */
    unsigned min_args, max_args;
    const char *args_what; /* what its positional arguments are, for messages */
} command_t;

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

/* A hall id as an argument; EXIT_USAGE (said) when it is not one. */
static int s_check_hall_id(const opts_t *o, const char *id)
{
    if (hb_hall_id_valid(id))
        return 0;
    fprintf(stderr, "hallctl %s: '%s' is not a hall id (1 to 32 of A-Z a-z 0-9 - _)\n", o->command,
            id);
    return EXIT_USAGE;
}

static int s_enroll(const opts_t *o)
{
    const char *hall = o->args[0];
    char path[PATH_MAX + 64], err[256];
    hb_cert_t hq;
    if (s_check_hall_id(o, hall) != 0)
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

/* ------------------------------------------------------------ HTTP ---- */

static void s_print_json(const json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2));
    if (text)
        printf("%s\n", text);
    free(text);
}

/* One request to the API at `base` (given as `option`, for messages).
 * On 0, `*status` is the HTTP status and `*answer` the JSON body (NULL when
 * the body is not JSON). Otherwise says why and returns EXIT_USAGE for a
 * base that is not a URL, EXIT_FAILED when no answer came. */
static int s_request(const opts_t *o, const char *base, const char *option, const char *method,
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
    char err[256];
    int rc = hb_httpc_request(base, method, path, text, API_TIMEOUT_MS, &r, err, sizeof err);
    free(text);
    if (rc == HB_EINVAL) {
        fprintf(stderr, "hallctl %s: %s '%s' is not http://HOST:PORT (%s)\n", o->command, option,
                base, err);
        return EXIT_USAGE;
    }
    if (rc != 0) {
        fprintf(stderr, "hallctl %s: %s\n", o->command, err);
        return EXIT_FAILED;
    }
    *status = r.status;
    *answer = json_loadb(r.body, r.body_len, 0, NULL);
    hb_httpc_resp_free(&r);
    return 0;
}

/* ------------------------------------------------------------- HQ ---- */

static int s_get(const opts_t *o, const char *path)
{
    int status = 0;
    json_t *j = NULL;
    int rc = s_request(o, o->hq, "--hq", "GET", path, NULL, &status, &j);
    if (rc != 0)
        return rc;
    rc = status == 200 ? 0 : EXIT_FAILED;
    if (!j) {
        fprintf(stderr, "hallctl: HQ answered %d with a body that is not JSON\n", status);
        rc = EXIT_FAILED;
    } else if (rc != 0) {
        const char *reason = json_string_value(json_object_get(j, "reason"));
        fprintf(stderr, "hallctl: HQ answered %d: %s\n", status, reason ? reason : "(no reason)");
    } else {
        s_print_json(j);
    }
    json_decref(j);
    return rc;
}

static int s_halls(const opts_t *o) { return s_get(o, "/v1/halls"); }

/* ------------------------------------------------ reading answers ---- */

static const char *s_jstr(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v ? v : "";
}

static long long s_jint(const json_t *o, const char *name)
{
    return (long long)json_integer_value(json_object_get(o, name));
}

/* A string array as "A,B" into `out`. */
static const char *s_jlist(const json_t *o, const char *name, const char *sep, char *out,
                           size_t outlen)
{
    size_t used = 0, i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(json_object_get(o, name), i, v)
    {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? sep : "",
                         json_string_value(v) ? json_string_value(v) : "?");
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
    return out;
}

/* A duration for people: "45 s", "12 min", "2 h 05 min". */
static const char *s_dur(long long s, char *out, size_t outlen)
{
    if (s < 120)
        snprintf(out, outlen, "%lld s", s < 0 ? 0 : s);
    else if (s < 7200)
        snprintf(out, outlen, "%lld min", (s + 30) / 60);
    else
        snprintf(out, outlen, "%lld h %02lld min", s / 3600, (s % 3600) / 60);
    return out;
}

/* An estimated wait: the server's figure is a guess, so it is said as one. */
static const char *s_about(long long s, char *out, size_t outlen)
{
    if (s <= 0)
        snprintf(out, outlen, "no wait");
    else if (s < 60)
        snprintf(out, outlen, "under a minute");
    else
        snprintf(out, outlen, "about %lld min", (s + 30) / 60);
    return out;
}

/* The e-channel advice of a ticket answer or of the hall, when due. */
static void s_print_advice(const json_t *adv, const char *service)
{
    if (!json_is_object(adv))
        return;
    char ch[256], near[512];
    printf("  advice%s%s: %lld waiting (threshold %lld); also on %s%s%s\n", service ? " for " : "",
           service ? service : "", s_jint(adv, "waiting"), s_jint(adv, "threshold"),
           s_jlist(adv, "echannels", ", ", ch, sizeof ch),
           json_array_size(json_object_get(adv, "nearby")) ? "; nearby halls " : "",
           s_jlist(adv, "nearby", ", ", near, sizeof near));
}

static void s_print_ticket(const opts_t *o, const json_t *a)
{
    (void)o;
    const char *state = s_jstr(a, "state");
    char buf[64];
    printf("%s  ", s_jstr(a, "ticket"));
    if (strcmp(state, "waiting") == 0)
        printf("position %lld in %s, %s%s\n", s_jint(a, "position"), s_jstr(a, "service"),
               s_about(s_jint(a, "estimated_wait_s"), buf, sizeof buf),
               json_is_true(json_object_get(a, "transferred")) ? " (transferred)" : "");
    else if (strcmp(state, "called") == 0 && s_jint(a, "recalls") > 0)
        printf("called to counter %s (recall %lld)\n", s_jstr(a, "counter"), s_jint(a, "recalls"));
    else if (strcmp(state, "called") == 0)
        printf("called to counter %s\n", s_jstr(a, "counter"));
    else if (strcmp(state, "serving") == 0)
        printf("being served at counter %s\n", s_jstr(a, "counter"));
    else if (strcmp(state, "served") == 0)
        printf("served (%s)\n", s_jstr(a, "outcome"));
    else if (strcmp(state, "no_show") == 0)
        printf("no-show after %lld recall(s)\n", s_jint(a, "recalls"));
    else
        printf("%s\n", state);
    s_print_advice(json_object_get(a, "advice"), NULL);
}

static void s_print_call(const opts_t *o, const json_t *a)
{
    (void)o;
    char buf[64];
    printf("%s  to counter %s (service %s, rule %s, waited %s)\n", s_jstr(a, "ticket"),
           s_jstr(a, "counter"), s_jstr(a, "service"), s_jstr(a, "rule"),
           s_dur(s_jint(a, "wait_s"), buf, sizeof buf));
}

static void s_print_counter(const opts_t *o, const json_t *a)
{
    (void)o;
    char svcs[256];
    printf("counter %s  %s, staff %s, services %s", s_jstr(a, "counter"), s_jstr(a, "state"),
           s_jstr(a, "staff"), s_jlist(a, "services", ",", svcs, sizeof svcs));
    if (json_is_string(json_object_get(a, "ticket")))
        printf(", ticket %s", s_jstr(a, "ticket"));
    printf(", served %lld today\n", s_jint(a, "served"));
}

static void s_print_complaint(const opts_t *o, const json_t *a)
{
    (void)o;
    const char *state = s_jstr(a, "state");
    printf("%s  %s", s_jstr(a, "complaint"), state);
    if (strcmp(state, "resolved") != 0) {
        printf(", %s, %s", s_jstr(a, "severity"), s_jstr(a, "category"));
        if (strcmp(state, "open") == 0 && json_is_string(json_object_get(a, "ack_due")))
            printf(", acknowledge by %s", s_jstr(a, "ack_due"));
        if (json_is_string(json_object_get(a, "acknowledged_by")))
            printf(", acknowledged by %s", s_jstr(a, "acknowledged_by"));
        if (json_is_string(json_object_get(a, "resolve_due")))
            printf(", resolve by %s", s_jstr(a, "resolve_due"));
        if (json_is_string(json_object_get(a, "escalation")))
            printf(", escalated to %s", s_jstr(a, "escalation"));
        if (json_is_true(json_object_get(a, "overdue")))
            printf(", OVERDUE");
    }
    printf("\n");
}

static void s_print_complaints(const opts_t *o, const json_t *a)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(a, "complaints"), i, c) s_print_complaint(o, c);
    printf("%lld complaint(s) %s\n", s_jint(a, "count"), s_jstr(a, "state"));
}

static void s_print_feedback(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("score %lld recorded\n", s_jint(a, "score"));
}

static void s_print_device(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("device %s  %s, %s\n", s_jstr(a, "device"), s_jstr(a, "kind"), s_jstr(a, "state"));
}

/* GET /v1/hall as a page a duty manager reads at a glance. */
static void s_print_hall(const opts_t *o, const json_t *h)
{
    (void)o;
    char b1[64], b2[64], b3[64], list[512];
    printf("hall %s  ", s_jstr(h, "hall"));
    if (json_is_true(json_object_get(h, "open"))) {
        if (json_is_string(json_object_get(h, "closes")))
            printf("open, closes %s\n", s_jstr(h, "closes"));
        else
            printf("open round the clock\n");
    } else {
        printf("closed (%s)", s_jstr(h, "open_state"));
        if (json_is_string(json_object_get(h, "notice")))
            printf(": %s", s_jstr(h, "notice"));
        printf("; next opening %s", json_is_string(json_object_get(h, "next_open"))
                                        ? s_jstr(h, "next_open")
                                        : "none planned");
        if (json_array_size(json_object_get(h, "divert_to")))
            printf("; divert to %s", s_jlist(h, "divert_to", ", ", list, sizeof list));
        printf("\n");
    }
    printf("waiting %lld (longest %s); counters open %lld, busy %lld\n", s_jint(h, "waiting"),
           s_dur(s_jint(h, "longest_wait_s"), b1, sizeof b1), s_jint(h, "counters_open"),
           s_jint(h, "counters_busy"));
    size_t i;
    json_t *v;
    printf("  %-10s %7s %9s %7s %7s %8s %9s %12s\n", "service", "waiting", "oldest", "issued",
           "served", "no-shows", "avg wait", "avg service");
    json_array_foreach(json_object_get(h, "services"), i, v) printf(
        "  %-10s %7lld %9s %7lld %7lld %8lld %9s %12s\n", s_jstr(v, "service"),
        s_jint(v, "waiting"), s_dur(s_jint(v, "oldest_wait_s"), b1, sizeof b1), s_jint(v, "issued"),
        s_jint(v, "served"), s_jint(v, "no_shows"), s_dur(s_jint(v, "avg_wait_s"), b2, sizeof b2),
        s_dur(s_jint(v, "avg_service_s"), b3, sizeof b3));
    if (json_array_size(json_object_get(h, "counters")))
        printf("counters:\n");
    json_array_foreach(json_object_get(h, "counters"), i, v)
    {
        double util = json_number_value(json_object_get(v, "utilisation"));
        printf("  %-10s %-8s staff %-8s services %-12s served %lld, busy %.0f%%%s%s\n",
               s_jstr(v, "counter"), s_jstr(v, "state"), s_jstr(v, "staff"),
               s_jlist(v, "services", ",", list, sizeof list), s_jint(v, "served"), util * 100.0,
               json_is_string(json_object_get(v, "ticket")) ? ", ticket " : "",
               s_jstr(v, "ticket"));
    }
    const json_t *cs = json_object_get(h, "complaints");
    printf("complaints: %lld open, %lld overdue\n", s_jint(cs, "open"), s_jint(cs, "overdue"));
    json_array_foreach(json_object_get(cs, "list"), i, v)
    {
        printf("  ");
        s_print_complaint(o, v);
    }
    printf("devices not ok: %lld\n", s_jint(h, "devices_not_ok"));
    json_array_foreach(json_object_get(h, "devices"), i, v)
    {
        if (strcmp(s_jstr(v, "state"), "ok") != 0)
            printf("  %-10s %s, %s since %s%s%s\n", s_jstr(v, "device"), s_jstr(v, "kind"),
                   s_jstr(v, "state"), s_jstr(v, "since"), s_jstr(v, "detail")[0] ? ": " : "",
                   s_jstr(v, "detail"));
    }
    const json_t *t = json_object_get(h, "today");
    printf("today %s: issued %lld, served %lld, no-shows %lld, cancelled %lld, transferred %lld; "
           "avg wait %s, avg service %s",
           json_is_string(json_object_get(h, "date")) ? s_jstr(h, "date") : "(not started)",
           s_jint(t, "issued"), s_jint(t, "served"), s_jint(t, "no_shows"), s_jint(t, "cancelled"),
           s_jint(t, "transferred"), s_dur(s_jint(t, "avg_wait_s"), b1, sizeof b1),
           s_dur(s_jint(t, "avg_service_s"), b2, sizeof b2));
    if (json_is_number(json_object_get(t, "satisfaction_avg")))
        printf("; satisfaction %.2f from %lld",
               json_number_value(json_object_get(t, "satisfaction_avg")),
               s_jint(t, "feedback_count"));
    printf("\n");
    json_array_foreach(json_object_get(h, "advice"), i, v) s_print_advice(v, s_jstr(v, "service"));
}

/* ----------------------------------------------- a hall's local API ---- */

typedef void (*print_fn)(const opts_t *o, const json_t *answer);

/* A refusal as one line: the status, the server's code and its reason, and
 * for a closed hall where to go instead. */
static void s_print_refusal(const opts_t *o, int status, const json_t *a)
{
    const char *reason = json_string_value(json_object_get(a, "reason"));
    fprintf(stderr, "hallctl %s: refused (%d %s): %s", o->command, status, s_jstr(a, "error"),
            reason ? reason : "(no reason given)");
    if (json_array_size(json_object_get(a, "divert_to"))) {
        char list[512];
        fprintf(stderr, "; go to %s", s_jlist(a, "divert_to", ", ", list, sizeof list));
    }
    fprintf(stderr, "\n");
}

/* Sends one request to the hall (taking `body`, which may be NULL) and
 * prints the answer: the JSON with --json, else `print`'s line, or the
 * refusal. Returns the exit code. */
static int s_hall_do(const opts_t *o, const char *method, const char *path, json_t *body,
                     print_fn print)
{
    int status = 0;
    json_t *a = NULL;
    int rc = s_request(o, o->hall, "--hall", method, path, body, &status, &a);
    json_decref(body);
    if (rc != 0)
        return rc;
    if (!a) {
        fprintf(stderr, "hallctl %s: the hall answered %d with a body that is not JSON\n",
                o->command, status);
        return EXIT_FAILED;
    }
    bool ok = status >= 200 && status < 300;
    if (o->json)
        s_print_json(a);
    else if (ok)
        print(o, a);
    else
        s_print_refusal(o, status, a);
    json_decref(a);
    return ok ? 0 : EXIT_FAILED;
}

/* Appends `text` to `out` percent-encoded, so that an id can never add a
 * segment or a query to the path. */
static int s_escape(char *out, size_t outlen, size_t *used, const char *text)
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
static int s_path(const opts_t *o, char *out, size_t outlen, const char *collection, const char *id,
                  const char *suffix)
{
    size_t used = 0;
    int w = snprintf(out, outlen, "%s", collection);
    if (w < 0 || (size_t)w >= outlen)
        return EXIT_USAGE;
    used = (size_t)w;
    if (!id[0] || s_escape(out, outlen, &used, id) != 0 || used + strlen(suffix) >= outlen) {
        fprintf(stderr, "hallctl %s: '%.64s' cannot be an id (1 to 64 bytes)\n", o->command, id);
        return EXIT_USAGE;
    }
    memcpy(out + used, suffix, strlen(suffix) + 1);
    return 0;
}

/* ---- request bodies: one row per member, from an option or argument */

enum { M_STR, M_INT, M_NONNEG, M_YESNO, M_LIST };

typedef struct member {
    const char *name;  /* the JSON member */
    const char *value; /* the option's text, NULL when not given */
    const char *what;  /* the option or argument, for messages */
    int kind;
} member_t;

/* A whole number, all of `text`. */
static bool s_parse_int(const char *text, long long *out)
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

static int s_member(const opts_t *o, json_t *body, const member_t *m)
{
    json_t *v = NULL;
    long long n = 0;
    switch (m->kind) {
    case M_STR:
        v = json_string(m->value); /* NULL when not UTF-8 */
        break;
    case M_INT:
    case M_NONNEG:
        if (!s_parse_int(m->value, &n) || (m->kind == M_NONNEG && n < 0)) {
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
    default:
        break;
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
static int s_body(const opts_t *o, const member_t *members, size_t n, json_t **out)
{
    json_t *body = json_object();
    for (size_t i = 0; i < n; i++) {
        if (!members[i].value)
            continue;
        int rc = s_member(o, body, &members[i]);
        if (rc != 0) {
            json_decref(body);
            return rc;
        }
    }
    *out = body;
    return 0;
}

#define NMEMBERS(m) (sizeof(m) / sizeof((m)[0]))

/* A POST to /v1/<collection>/<id>/<action> with `members` as its body. */
static int s_post_action(const opts_t *o, const char *collection, const char *action,
                         const member_t *members, size_t n, print_fn print)
{
    char path[API_PATH_MAX];
    json_t *body = NULL;
    int rc = s_path(o, path, sizeof path, collection, o->args[0], action);
    if (rc == 0)
        rc = s_body(o, members, n, &body);
    if (rc != 0)
        return rc;
    return s_hall_do(o, "POST", path, body, print);
}

/* ---- the commands */

static int s_ticket(const opts_t *o)
{
    const member_t m[] = {{"service", o->args[0], "SERVICE", M_STR},
                          {"priority", o->priority, "--priority", M_STR},
                          {"source", o->source, "--source", M_STR}};
    json_t *body;
    int rc = s_body(o, m, NMEMBERS(m), &body);
    return rc != 0 ? rc : s_hall_do(o, "POST", "/v1/tickets", body, s_print_ticket);
}

static int s_ticket_show(const opts_t *o)
{
    char path[API_PATH_MAX];
    int rc = s_path(o, path, sizeof path, "/v1/tickets/", o->args[0], "");
    return rc != 0 ? rc : s_hall_do(o, "GET", path, NULL, s_print_ticket);
}

static int s_recall(const opts_t *o)
{
    return s_post_action(o, "/v1/tickets/", "/recall", NULL, 0, s_print_ticket);
}

static int s_no_show(const opts_t *o)
{
    return s_post_action(o, "/v1/tickets/", "/no-show", NULL, 0, s_print_ticket);
}

static int s_transfer(const opts_t *o)
{
    const member_t m[] = {{"service", o->args[1], "SERVICE", M_STR}};
    return s_post_action(o, "/v1/tickets/", "/transfer", m, NMEMBERS(m), s_print_ticket);
}

static int s_cancel(const opts_t *o)
{
    const member_t m[] = {{"reason", o->reason, "--reason", M_STR}};
    return s_post_action(o, "/v1/tickets/", "/cancel", m, NMEMBERS(m), s_print_ticket);
}

static int s_counter_open(const opts_t *o)
{
    const member_t m[] = {{"staff", o->staff, "--staff", M_STR},
                          {"services", o->services, "--services", M_LIST}};
    return s_post_action(o, "/v1/counters/", "/open", m, NMEMBERS(m), s_print_counter);
}

static int s_counter_pause(const opts_t *o)
{
    const member_t m[] = {{"reason", o->reason, "--reason", M_STR}};
    return s_post_action(o, "/v1/counters/", "/pause", m, NMEMBERS(m), s_print_counter);
}

static int s_counter_resume(const opts_t *o)
{
    return s_post_action(o, "/v1/counters/", "/resume", NULL, 0, s_print_counter);
}

static int s_counter_close(const opts_t *o)
{
    return s_post_action(o, "/v1/counters/", "/close", NULL, 0, s_print_counter);
}

static int s_call(const opts_t *o)
{
    const member_t m[] = {{"ticket", o->ticket, "--ticket", M_STR}};
    return s_post_action(o, "/v1/counters/", "/call", m, NMEMBERS(m), s_print_call);
}

static int s_start(const opts_t *o)
{
    return s_post_action(o, "/v1/counters/", "/start", NULL, 0, s_print_counter);
}

static int s_complete(const opts_t *o)
{
    const member_t m[] = {{"business_type", o->business_type, "--business-type", M_STR},
                          {"outcome", o->outcome, "--outcome", M_STR},
                          {"amount", o->amount, "--amount", M_NONNEG},
                          {"currency", o->currency, "--currency", M_STR}};
    return s_post_action(o, "/v1/counters/", "/complete", m, NMEMBERS(m), s_print_counter);
}

static int s_complaint(const opts_t *o)
{
    const member_t m[] = {{"channel", o->channel, "--channel", M_STR},
                          {"category", o->category, "--category", M_STR},
                          {"severity", o->severity, "--severity", M_STR},
                          {"ticket", o->ticket, "--ticket", M_STR},
                          {"text", o->text, "--text", M_STR}};
    json_t *body;
    int rc = s_body(o, m, NMEMBERS(m), &body);
    return rc != 0 ? rc : s_hall_do(o, "POST", "/v1/complaints", body, s_print_complaint);
}

static int s_complaints(const opts_t *o)
{
    char path[API_PATH_MAX] = "/v1/complaints";
    size_t used = strlen(path);
    if (o->state) {
        memcpy(path + used, "?state=", 8);
        used += 7;
        if (s_escape(path, sizeof path, &used, o->state) != 0) {
            fprintf(stderr, "hallctl %s: --state is too long\n", o->command);
            return EXIT_USAGE;
        }
    }
    return s_hall_do(o, "GET", path, NULL, s_print_complaints);
}

static int s_complaint_ack(const opts_t *o)
{
    const member_t m[] = {{"by", o->by, "--by", M_STR}};
    return s_post_action(o, "/v1/complaints/", "/ack", m, NMEMBERS(m), s_print_complaint);
}

static int s_complaint_escalate(const opts_t *o)
{
    const member_t m[] = {{"level", o->level, "--level", M_STR},
                          {"reason", o->reason, "--reason", M_STR}};
    return s_post_action(o, "/v1/complaints/", "/escalate", m, NMEMBERS(m), s_print_complaint);
}

static int s_complaint_resolve(const opts_t *o)
{
    const member_t m[] = {{"resolution", o->resolution, "--resolution", M_STR},
                          {"customer_satisfied", o->satisfied, "--satisfied", M_YESNO}};
    return s_post_action(o, "/v1/complaints/", "/resolve", m, NMEMBERS(m), s_print_complaint);
}

static int s_feedback(const opts_t *o)
{
    const member_t m[] = {{"score", o->score, "--score", M_INT},
                          {"ticket", o->ticket, "--ticket", M_STR},
                          {"counter", o->counter, "--counter", M_STR}};
    json_t *body;
    int rc = s_body(o, m, NMEMBERS(m), &body);
    return rc != 0 ? rc : s_hall_do(o, "POST", "/v1/feedback", body, s_print_feedback);
}

static int s_device(const opts_t *o)
{
    const member_t m[] = {{"kind", o->kind, "--kind", M_STR},
                          {"state", o->state, "--state", M_STR},
                          {"detail", o->detail, "--detail", M_STR}};
    return s_post_action(o, "/v1/devices/", "/status", m, NMEMBERS(m), s_print_device);
}

/* `hall --hall URL` reads a hall's own live state; `hall HALL --hq URL`
 * (the older form) shows the hall as HQ sees it. */
static int s_hall(const opts_t *o)
{
    if (o->hall && o->hq) {
        fprintf(stderr, "hallctl hall: give --hall (the hall's own API) or --hq (HQ's view of a "
                        "hall), not both\n");
        return EXIT_USAGE;
    }
    if (o->hall) {
        if (o->n_args) {
            fprintf(stderr,
                    "hallctl hall: unexpected argument '%s' (with --hall the hall is the "
                    "one at that address)\n",
                    o->args[0]);
            return EXIT_USAGE;
        }
        return s_hall_do(o, "GET", "/v1/hall", NULL, s_print_hall);
    }
    if (!o->hq) {
        fprintf(stderr, "hallctl hall: --hall or --hq is required\nusage: hallctl hall --hall "
                        "http://HOST:PORT | hallctl hall HALL --hq http://HOST:PORT\n");
        return EXIT_USAGE;
    }
    if (!o->n_args) {
        fprintf(stderr, "hallctl hall: with --hq, a hall id is required\n");
        return EXIT_USAGE;
    }
    if (s_check_hall_id(o, o->args[0]) != 0)
        return EXIT_USAGE;
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/%s", o->args[0]);
    return s_get(o, path);
}

/* ------------------------------------- the head office's control plane ---- */

/* The organisation, policies, campaigns, the glossary and the rollout,
 * over hqd's control-plane API (docs/API.md). A document comes from a file,
 * read strictly here (a member twice is refused, as HQ would) and sent
 * re-encoded; HQ judges what it says. */

#define HQ_FILE_MAX ((long)16 << 20) /* a document file, bytes */

/* The JSON document in `file`; EXIT_FAILED (said) when it cannot be read. */
static int s_hq_read_doc(const opts_t *o, const char *file, json_t **out)
{
    struct stat st;
    if (stat(file, &st) != 0) {
        fprintf(stderr, "hallctl %s: cannot read %s: %s\n", o->command, file, strerror(errno));
        return EXIT_FAILED;
    }
    if (st.st_size > HQ_FILE_MAX) {
        fprintf(stderr, "hallctl %s: %s is larger than %ld bytes\n", o->command, file,
                HQ_FILE_MAX);
        return EXIT_FAILED;
    }
    json_error_t jerr;
    *out = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out) {
        fprintf(stderr, "hallctl %s: %s is not a JSON document: %s (line %d, column %d)\n",
                o->command, file, jerr.text, jerr.line, jerr.column);
        return EXIT_FAILED;
    }
    return 0;
}

/* The check's findings, one a line: severity, rule, campaigns, halls,
 * days, message. */
static void s_hq_print_report(const json_t *r)
{
    printf("calendar check: %lld error(s), %lld warning(s) over %lld campaign(s)%s\n",
           s_jint(r, "errors"), s_jint(r, "warnings"), s_jint(r, "checked"),
           s_jint(r, "dropped") ? "; some findings only counted" : "");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "findings"), i, f)
    {
        char camps[512];
        const json_t *days = json_object_get(f, "days");
        printf("%-7s  %-12s  %-24s  %5lld hall(s)  %s..%s  %s\n", s_jstr(f, "severity"),
               s_jstr(f, "code"), s_jlist(f, "campaigns", ",", camps, sizeof camps),
               s_jint(json_object_get(f, "halls"), "count"), s_jstr(days, "first"),
               s_jstr(days, "last"), s_jstr(f, "message"));
    }
}

/* Sends one request to HQ (taking `body`, which may be NULL) and prints the
 * answer: the JSON with --json, else `print`'s lines, or the refusal (with
 * the check's findings when a step was refused for them). */
static int s_hq_do(const opts_t *o, const char *method, const char *path, json_t *body,
                   print_fn print)
{
    int status = 0;
    json_t *a = NULL;
    int rc = s_request(o, o->hq, "--hq", method, path, body, &status, &a);
    json_decref(body);
    if (rc != 0)
        return rc;
    if (!a) {
        fprintf(stderr, "hallctl %s: HQ answered %d with a body that is not JSON\n", o->command,
                status);
        return EXIT_FAILED;
    }
    bool ok = status >= 200 && status < 300;
    if (o->json) {
        s_print_json(a);
    } else if (ok) {
        print(o, a);
    } else {
        s_print_refusal(o, status, a);
        if (json_is_object(json_object_get(a, "report")))
            s_hq_print_report(json_object_get(a, "report"));
    }
    json_decref(a);
    return ok ? 0 : EXIT_FAILED;
}

/* Sends the document in `file` as the body of `method path`. */
static int s_hq_send_file(const opts_t *o, const char *method, const char *path, const char *file,
                          print_fn print)
{
    json_t *doc;
    int rc = s_hq_read_doc(o, file, &doc);
    return rc != 0 ? rc : s_hq_do(o, method, path, doc, print);
}

/* ---- organisation */

static void s_hq_print_region(const json_t *regions, const json_t *halls, const json_t *r,
                              int depth)
{
    const char *id = s_jstr(r, "id");
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(halls, i, v)
    {
        if (strcmp(s_jstr(v, "city"), id) == 0)
            n++;
    }
    printf("%*s%-12s %-9s %s", depth * 2, "", id, s_jstr(r, "level"), s_jstr(r, "name"));
    if (strcmp(s_jstr(r, "level"), "city") == 0)
        printf("  (%zu hall%s)", n, n == 1 ? "" : "s");
    printf("\n");
    if (depth >= 2)
        return; /* cities have no regions under them */
    json_array_foreach(regions, i, v)
    {
        if (strcmp(s_jstr(v, "parent"), id) == 0)
            s_hq_print_region(regions, halls, v, depth + 1);
    }
}

static void s_hq_print_org(const opts_t *o, const json_t *a)
{
    (void)o;
    const json_t *regions = json_object_get(a, "regions"), *halls = json_object_get(a, "halls");
    size_t i;
    json_t *v;
    json_array_foreach(regions, i, v)
    {
        if (!json_object_get(v, "parent"))
            s_hq_print_region(regions, halls, v, 0);
    }
    printf("%zu region(s), %zu hall(s)\n", json_array_size(regions), json_array_size(halls));
    json_array_foreach(halls, i, v)
    {
        char tags[512];
        printf("  %-12s %-12s %-30s %s\n", s_jstr(v, "id"), s_jstr(v, "city"), s_jstr(v, "name"),
               s_jlist(v, "tags", ",", tags, sizeof tags));
    }
}

static void s_hq_print_org_set(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("organisation set: %lld region(s), %lld hall(s)\n", s_jint(a, "regions"),
           s_jint(a, "halls"));
}

static void s_hq_print_region_put(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("region %s  %s %s%s%s\n", s_jstr(a, "id"), s_jstr(a, "level"), s_jstr(a, "name"),
           json_object_get(a, "parent") ? ", under " : "", s_jstr(a, "parent"));
}

static void s_hq_print_hall_put(const opts_t *o, const json_t *a)
{
    (void)o;
    char tags[512];
    printf("hall %s  in %s%s%s, tags %s\n", s_jstr(a, "id"), s_jstr(a, "city"),
           json_object_get(a, "name") ? ", " : "", s_jstr(a, "name"),
           json_array_size(json_object_get(a, "tags")) ? s_jlist(a, "tags", ",", tags, sizeof tags)
                                                       : "none");
}

static int s_hq_org_show(const opts_t *o)
{
    return s_hq_do(o, "GET", "/v1/org", NULL, s_hq_print_org);
}

static int s_hq_org_set(const opts_t *o)
{
    return s_hq_send_file(o, "PUT", "/v1/org", o->args[0], s_hq_print_org_set);
}

static int s_hq_region_put(const opts_t *o)
{
    char path[API_PATH_MAX];
    json_t *body = NULL;
    const member_t m[] = {{"id", o->args[0], "ID", M_STR},
                          {"name", o->name, "--name", M_STR},
                          {"level", o->level, "--level", M_STR},
                          {"parent", o->parent, "--parent", M_STR}};
    int rc = s_path(o, path, sizeof path, "/v1/org/regions/", o->args[0], "");
    if (rc == 0)
        rc = s_body(o, m, NMEMBERS(m), &body);
    return rc != 0 ? rc : s_hq_do(o, "PUT", path, body, s_hq_print_region_put);
}

/* hall-place keeps what it is not given: the name, tags and neighbours the
 * hall already has, so that moving a hall does not forget them. */
static int s_hq_hall_place(const opts_t *o)
{
    char path[API_PATH_MAX];
    json_t *body = NULL;
    const member_t m[] = {{"id", o->args[0], "HALL", M_STR},
                          {"city", o->city, "--city", M_STR},
                          {"name", o->name, "--name", M_STR}};
    int rc = s_path(o, path, sizeof path, "/v1/org/halls/", o->args[0], "");
    if (rc == 0)
        rc = s_body(o, m, NMEMBERS(m), &body);
    if (rc != 0)
        return rc;
    if (o->tags) {
        /* An empty --tags clears them, which a member list cannot say. */
        const member_t t = {"tags", o->tags, "--tags", M_LIST};
        rc = o->tags[0] ? s_member(o, body, &t) : json_object_set_new(body, "tags", json_array());
        if (rc != 0) {
            json_decref(body);
            return rc;
        }
    }
    int status = 0;
    json_t *have = NULL;
    rc = s_request(o, o->hq, "--hq", "GET", path, NULL, &status, &have);
    if (rc != 0) {
        json_decref(body);
        return rc;
    }
    const json_t *old = status == 200 ? json_object_get(have, "hall") : NULL;
    const char *keep[] = {"name", "tags", "neighbours"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (!json_object_get(body, keep[i]) && json_object_get(old, keep[i]))
            json_object_set(body, keep[i], json_object_get(old, keep[i]));
    json_decref(have);
    return s_hq_do(o, "PUT", path, body, s_hq_print_hall_put);
}

/* ---- policies */

/* The API path of SCOPE (national, region/ID or hall/ID); EXIT_USAGE
 * (said) when it is none of them. */
static int s_hq_scope_path(const opts_t *o, const char *scope, char *path, size_t len)
{
    if (strcmp(scope, "national") == 0) {
        snprintf(path, len, "/v1/policies/national");
        return 0;
    }
    if (strncmp(scope, "region/", 7) == 0 && scope[7])
        return s_path(o, path, len, "/v1/policies/regions/", scope + 7, "");
    if (strncmp(scope, "hall/", 5) == 0 && scope[5])
        return s_path(o, path, len, "/v1/policies/halls/", scope + 5, "");
    fprintf(stderr, "hallctl %s: SCOPE is national, region/ID or hall/ID, not '%s'\n", o->command,
            scope);
    return EXIT_USAGE;
}

static void s_hq_print_policy_set(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("draft policy of %s set; policy-publish makes the drafts the next version\n",
           s_jstr(a, "scope"));
}

static void s_hq_print_policies(const opts_t *o, const json_t *a)
{
    (void)o;
    if (s_jint(a, "version") > 0)
        printf("policy version %lld, published %s by %s\n", s_jint(a, "version"),
               s_jstr(a, "published_at"), s_jstr(a, "published_by"));
    else
        printf("no policy version published yet\n");
    const json_t *drafts = json_object_get(a, "drafts"), *pub = json_object_get(a, "published");
    printf("  %-40s %-6s %s\n", "SCOPE", "DRAFT", "PUBLISHED");
    const char *scope;
    json_t *d;
    json_object_foreach((json_t *)drafts, scope, d)
    {
        const json_t *p = json_object_get(pub, scope);
        printf("  %-40s %-6s %s%s\n", scope, "set", p ? "set" : "-",
               p && !json_equal(p, d) ? " (the draft differs)" : "");
    }
    json_object_foreach((json_t *)pub, scope, d)
    {
        if (!json_object_get(drafts, scope))
            printf("  %-40s %-6s %s (the draft was removed)\n", scope, "-", "set");
    }
}

static void s_hq_print_scope(const opts_t *o, const json_t *a)
{
    (void)o;
    const char *parts[] = {"draft", "published"};
    printf("%s (policy version %lld)\n", s_jstr(a, "scope"), s_jint(a, "version"));
    for (int i = 0; i < 2; i++) {
        printf("%s:\n", parts[i]);
        if (json_is_object(json_object_get(a, parts[i])))
            s_print_json(json_object_get(a, parts[i]));
        else
            printf("  none\n");
    }
}

static void s_hq_print_effective(const opts_t *o, const json_t *a)
{
    char scopes[512];
    printf("hall %s%s, ", s_jstr(a, "hall"),
           json_is_true(json_object_get(a, "placed")) ? "" : " (not placed: national only)");
    if (o->drafts)
        printf("from the drafts");
    else
        printf("policy version %lld", s_jint(a, "version"));
    printf(": the defaults%s%s\n", json_array_size(json_object_get(a, "scopes")) ? " + " : "",
           s_jlist(a, "scopes", " + ", scopes, sizeof scopes));
    s_print_json(json_object_get(a, "policy"));
}

static void s_hq_print_published(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("published policy version %lld (%s, by %s)\n", s_jint(a, "version"),
           s_jstr(a, "published_at"), s_jstr(a, "published_by"));
}

static int s_hq_policy_set(const opts_t *o)
{
    char path[API_PATH_MAX];
    int rc = s_hq_scope_path(o, o->args[0], path, sizeof path);
    return rc != 0 ? rc : s_hq_send_file(o, "PUT", path, o->args[1], s_hq_print_policy_set);
}

static int s_hq_policy_show(const opts_t *o)
{
    char path[API_PATH_MAX];
    if (!o->n_args)
        return s_hq_do(o, "GET", "/v1/policies", NULL, s_hq_print_policies);
    int rc = s_hq_scope_path(o, o->args[0], path, sizeof path);
    return rc != 0 ? rc : s_hq_do(o, "GET", path, NULL, s_hq_print_scope);
}

static int s_hq_policy_effective(const opts_t *o)
{
    char path[API_PATH_MAX];
    int rc = s_path(o, path, sizeof path, "/v1/policies/effective/", o->args[0],
                    o->drafts ? "?drafts=1" : "");
    return rc != 0 ? rc : s_hq_do(o, "GET", path, NULL, s_hq_print_effective);
}

static int s_hq_policy_publish(const opts_t *o)
{
    const member_t m[] = {{"by", o->by, "--by", M_STR}};
    json_t *body;
    int rc = s_body(o, m, NMEMBERS(m), &body);
    return rc != 0 ? rc : s_hq_do(o, "POST", "/v1/policies/publish", body, s_hq_print_published);
}

/* ---- campaigns */

static void s_hq_print_created(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("campaign %s  %s, revision %lld, reaches %lld hall(s)\n", s_jstr(a, "id"),
           s_jstr(a, "state"), s_jint(a, "revision"), s_jint(a, "halls"));
}

static void s_hq_print_step(const opts_t *o, const json_t *a)
{
    (void)o;
    const json_t *c = json_object_get(a, "campaign");
    printf("campaign %s  %s, revision %lld; calendar version %lld\n", s_jstr(c, "id"),
           s_jstr(c, "state"), s_jint(c, "revision"), s_jint(a, "calendar_version"));
    if (json_is_object(json_object_get(a, "report")))
        s_hq_print_report(json_object_get(a, "report"));
}

static void s_hq_print_campaigns(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("%-24s %-10s %-11s %-10s %-10s %-10s %6s  %s\n", "ID", "STATE", "LEVEL", "REGION",
           "START", "END", "HALLS", "TITLE");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(a, "campaigns"), i, c)
    {
        char halls[24] = "-";
        if (json_is_integer(json_object_get(c, "halls")))
            snprintf(halls, sizeof halls, "%lld", s_jint(c, "halls"));
        printf("%-24s %-10s %-11s %-10s %-10s %-10s %6s  %s\n", s_jstr(c, "id"), s_jstr(c, "state"),
               s_jstr(c, "level"), s_jstr(c, "region"), s_jstr(c, "start"), s_jstr(c, "end"),
               halls, s_jstr(c, "title"));
    }
    printf("%lld campaign(s); calendar version %lld\n", s_jint(a, "total"),
           s_jint(a, "calendar_version"));
}

static void s_hq_print_campaign(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("%s  %s\n  %s campaign of %s%s%s, %s to %s, reaches %lld hall(s)\n  %s, revision "
           "%lld\n",
           s_jstr(a, "id"), s_jstr(a, "title"), s_jstr(a, "level"), s_jstr(a, "region"),
           json_object_get(a, "parent") ? ", under " : "", s_jstr(a, "parent"), s_jstr(a, "start"),
           s_jstr(a, "end"), s_jint(a, "halls"), s_jstr(a, "state"), s_jint(a, "revision"));
    const char *key;
    json_t *v;
    printf("texts:\n");
    json_object_foreach(json_object_get(a, "texts"), key, v)
        printf("  %s: %s\n", key, json_string_value(v) ? json_string_value(v) : "");
    size_t i;
    printf("faq:\n");
    json_array_foreach(json_object_get(a, "faq"), i, v)
        printf("  Q: %s\n  A: %s\n", s_jstr(v, "question"), s_jstr(v, "answer"));
    printf("history:\n");
    json_array_foreach(json_object_get(a, "history"), i, v)
    {
        char at[HB_RFC3339_MAX];
        hb_time_format((int64_t)s_jint(v, "at_ms"), at);
        printf("  %s  %-8s %-9s -> %-9s by %s%s%s%s\n", at, s_jstr(v, "action"), s_jstr(v, "from"),
               s_jstr(v, "to"), s_jstr(v, "by"), json_object_get(v, "note") ? ": \"" : "",
               s_jstr(v, "note"), json_object_get(v, "note") ? "\"" : "");
    }
}

static void s_hq_print_check(const opts_t *o, const json_t *a)
{
    (void)o;
    s_hq_print_report(a);
}

static int s_hq_campaign_create(const opts_t *o)
{
    char path[API_PATH_MAX];
    int rc = s_path(o, path, sizeof path, "/v1/campaigns?by=", o->by, "");
    return rc != 0 ? rc : s_hq_send_file(o, "POST", path, o->args[0], s_hq_print_created);
}

/* campaign-submit .. campaign-withdraw: the step is the command's name
 * after "campaign-". */
static int s_hq_campaign_step(const opts_t *o)
{
    char path[API_PATH_MAX], step[32];
    snprintf(step, sizeof step, "/%s", o->command + strlen("campaign-"));
    const member_t m[] = {{"by", o->by, "--by", M_STR}, {"note", o->note, "--note", M_STR}};
    json_t *body = NULL;
    int rc = s_path(o, path, sizeof path, "/v1/campaigns/", o->args[0], step);
    if (rc == 0)
        rc = s_body(o, m, NMEMBERS(m), &body);
    return rc != 0 ? rc : s_hq_do(o, "POST", path, body, s_hq_print_step);
}

static int s_hq_campaign_list(const opts_t *o)
{
    char path[API_PATH_MAX];
    if (!o->state)
        return s_hq_do(o, "GET", "/v1/campaigns", NULL, s_hq_print_campaigns);
    int rc = s_path(o, path, sizeof path, "/v1/campaigns?state=", o->state, "");
    return rc != 0 ? rc : s_hq_do(o, "GET", path, NULL, s_hq_print_campaigns);
}

static int s_hq_campaign_show(const opts_t *o)
{
    char path[API_PATH_MAX];
    int rc = s_path(o, path, sizeof path, "/v1/campaigns/", o->args[0], "");
    return rc != 0 ? rc : s_hq_do(o, "GET", path, NULL, s_hq_print_campaign);
}

/* campaign-check exits 1 when the calendar has errors, as a linter does,
 * so that a script can gate on it. */
static int s_hq_campaign_check(const opts_t *o)
{
    json_t *doc = NULL;
    if (o->n_args) {
        int rc = s_hq_read_doc(o, o->args[0], &doc);
        if (rc != 0)
            return rc;
    }
    int status = 0;
    json_t *a = NULL;
    int rc = s_request(o, o->hq, "--hq", "POST", "/v1/calendar/check", doc, &status, &a);
    json_decref(doc);
    if (rc != 0)
        return rc;
    if (status != 200 || !a) {
        s_print_refusal(o, status, a);
        json_decref(a);
        return EXIT_FAILED;
    }
    if (o->json)
        s_print_json(a);
    else
        s_hq_print_check(o, a);
    rc = s_jint(a, "errors") > 0 ? EXIT_FAILED : 0;
    json_decref(a);
    return rc;
}

/* The export as HQ sent it: JSON, or with --csv the CSV text. */
static int s_hq_campaign_export(const opts_t *o)
{
    hb_httpc_resp_t r;
    char err[256];
    const char *path = o->csv ? "/v1/calendar/export?format=csv" : "/v1/calendar/export";
    int rc = hb_httpc_request(o->hq, "GET", path, NULL, API_TIMEOUT_MS, &r, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "hallctl %s: %s\n", o->command, err);
        return rc == HB_EINVAL ? EXIT_USAGE : EXIT_FAILED;
    }
    json_t *a = o->csv && r.status == 200 ? NULL : json_loadb(r.body, r.body_len, 0, NULL);
    if (r.status != 200)
        s_print_refusal(o, r.status, a);
    else if (o->csv)
        fwrite(r.body, 1, r.body_len, stdout);
    else if (a)
        s_print_json(a);
    rc = r.status == 200 && (o->csv || a) ? 0 : EXIT_FAILED;
    json_decref(a);
    hb_httpc_resp_free(&r);
    return rc;
}

/* ---- glossary and rollout */

static void s_hq_print_glossary(const opts_t *o, const json_t *a)
{
    size_t i;
    json_t *t;
    if (strcmp(o->command, "glossary-show") == 0) {
        json_array_foreach(json_object_get(a, "terms"), i, t)
        {
            const char *def = json_string_value(json_object_get(t, "definition"));
            printf("%s%s%s\n", s_jstr(t, "term"), def ? ": " : "", def ? def : "");
        }
    }
    printf("glossary: %zu term(s)\n", json_array_size(json_object_get(a, "terms")));
}

static void s_hq_print_rollout(const opts_t *o, const json_t *a)
{
    (void)o;
    const char *kinds[] = {"policy", "calendar"};
    const char *groups[] = {"applied", "pending", "offline", "refused"};
    for (int k = 0; k < 2; k++) {
        const json_t *r = json_object_get(a, kinds[k]);
        printf("%-8s version %lld: %lld hall(s): %lld applied, %lld pending, %lld offline, %lld "
               "refused\n",
               kinds[k], s_jint(r, "version"), s_jint(r, "halls"), s_jint(r, "applied"),
               s_jint(r, "pending"), s_jint(r, "offline"), s_jint(r, "refused"));
        for (int g = 0; g < 4; g++) {
            char key[32], list[4096];
            snprintf(key, sizeof key, "%s_halls", groups[g]);
            if (json_array_size(json_object_get(r, key)))
                printf("  %s: %s\n", groups[g], s_jlist(r, key, " ", list, sizeof list));
        }
    }
}

static int s_hq_glossary_set(const opts_t *o)
{
    return s_hq_send_file(o, "PUT", "/v1/glossary", o->args[0], s_hq_print_glossary);
}

static int s_hq_glossary_show(const opts_t *o)
{
    return s_hq_do(o, "GET", "/v1/glossary", NULL, s_hq_print_glossary);
}

static int s_hq_rollout(const opts_t *o)
{
    char path[API_PATH_MAX];
    long long n = 0;
    if (!o->halls)
        return s_hq_do(o, "GET", "/v1/rollout", NULL, s_hq_print_rollout);
    if (!s_parse_int(o->halls, &n) || n < 0 || n > 100000) {
        fprintf(stderr, "hallctl %s: --halls must be a whole number from 0 to 100000, not '%s'\n",
                o->command, o->halls);
        return EXIT_USAGE;
    }
    snprintf(path, sizeof path, "/v1/rollout?halls=%lld", n);
    return s_hq_do(o, "GET", path, NULL, s_hq_print_rollout);
}

static int s_help(const opts_t *o);

#define HALL_OPT "--hall "
static const command_t s_commands[] = {
    {"enroll", s_enroll,
     "enroll HALL --region REGION --hq-keys DIR --out DIR [--hq-endpoint tcp://HOST:PORT] "
     "[--force]",
     "make a hall's key pair, enrol it at HQ, write the hall's folder and config",
     "--region --hq-keys --out --hq-endpoint --force", "--region --hq-keys --out", 1, 1,
     "a hall id"},
    {"init-hq", s_init_hq, "init-hq --hq-keys DIR",
     "create HQ's key pair (hqd also does this on first start)", "--hq-keys", "--hq-keys", 0, 0,
     NULL},
    {"halls", s_halls, "halls --hq http://HOST:PORT", "list the halls HQ knows", "--hq", "--hq", 0,
     0, NULL},
    {"hall", s_hall, "hall --hall http://HOST:PORT | hall HALL --hq http://HOST:PORT",
     "a hall's live state from its own API (queue, counters, complaints, devices, today), or one "
     "hall as HQ sees it",
     "--hall --hq", NULL, 0, 1, "a hall id"},
    {"ticket", s_ticket, "ticket SERVICE --hall URL [--priority P] [--source S]",
     "take a ticket (priority normal, vip, elderly, appointment; source kiosk, app, staff)",
     HALL_OPT "--priority --source", "--hall", 1, 1, "a service code"},
    {"ticket-show", s_ticket_show, "ticket-show TICKET --hall URL",
     "a ticket's state, position and estimated wait", HALL_OPT, "--hall", 1, 1, "a ticket"},
    {"recall", s_recall, "recall TICKET --hall URL",
     "call a called ticket again (past the hall's recalls it becomes a no-show)", HALL_OPT,
     "--hall", 1, 1, "a ticket"},
    {"no-show", s_no_show, "no-show TICKET --hall URL", "the called customer did not come",
     HALL_OPT, "--hall", 1, 1, "a ticket"},
    {"transfer", s_transfer, "transfer TICKET SERVICE --hall URL",
     "move a ticket to another service (it keeps its number and its place)", HALL_OPT, "--hall", 2,
     2, "a ticket and a service code"},
    {"cancel", s_cancel, "cancel TICKET --hall URL [--reason R]",
     "cancel a waiting or called ticket", HALL_OPT "--reason", "--hall", 1, 1, "a ticket"},
    {"counter-open", s_counter_open, "counter-open COUNTER --hall URL --staff S --services A,B",
     "open a counter with its staff and the services it serves", HALL_OPT "--staff --services",
     "--hall --staff --services", 1, 1, "a counter"},
    {"counter-pause", s_counter_pause, "counter-pause COUNTER --hall URL [--reason R]",
     "pause an idle counter (a meal break)", HALL_OPT "--reason", "--hall", 1, 1, "a counter"},
    {"counter-resume", s_counter_resume, "counter-resume COUNTER --hall URL",
     "resume a paused counter", HALL_OPT, "--hall", 1, 1, "a counter"},
    {"counter-close", s_counter_close, "counter-close COUNTER --hall URL",
     "close an idle or paused counter", HALL_OPT, "--hall", 1, 1, "a counter"},
    {"call", s_call, "call COUNTER --hall URL [--ticket T]",
     "call the next ticket by the queue rules (prints the rule that chose it), or ticket T",
     HALL_OPT "--ticket", "--hall", 1, 1, "a counter"},
    {"start", s_start, "start COUNTER --hall URL",
     "the called customer arrived at the counter: service starts", HALL_OPT, "--hall", 1, 1,
     "a counter"},
    {"complete", s_complete,
     "complete COUNTER --hall URL --business-type X [--outcome O] [--amount N] [--currency EUR]",
     "end the service at a counter (outcome done, referred, rejected_documents; amount in minor "
     "units)",
     HALL_OPT "--business-type --outcome --amount --currency", "--hall --business-type", 1, 1,
     "a counter"},
    {"complaint", s_complaint,
     "complaint --hall URL --channel X --category Y --severity Z [--ticket T] [--text ...]",
     "open a complaint (channel counter, phone, email, suggestion_box, app; severity low, "
     "medium, high, critical)",
     HALL_OPT "--channel --category --severity --ticket --text",
     "--hall --channel --category --severity", 0, 0, NULL},
    {"complaints", s_complaints, "complaints --hall URL [--state open|acknowledged|overdue|all]",
     "list the hall's unresolved complaints", HALL_OPT "--state", "--hall", 0, 0, NULL},
    {"complaint-ack", s_complaint_ack, "complaint-ack COMPLAINT --hall URL --by STAFF",
     "acknowledge a complaint", HALL_OPT "--by", "--hall --by", 1, 1, "a complaint id"},
    {"complaint-escalate", s_complaint_escalate,
     "complaint-escalate COMPLAINT --hall URL [--level L] [--reason R]",
     "escalate a complaint one level, or to L (duty_manager, region, head_office)",
     HALL_OPT "--level --reason", "--hall", 1, 1, "a complaint id"},
    {"complaint-resolve", s_complaint_resolve,
     "complaint-resolve COMPLAINT --hall URL --resolution R --satisfied yes|no",
     "resolve a complaint, saying whether the customer was satisfied",
     HALL_OPT "--resolution --satisfied", "--hall --resolution --satisfied", 1, 1,
     "a complaint id"},
    {"feedback", s_feedback, "feedback --hall URL --score N [--ticket T] [--counter C]",
     "a customer's satisfaction score, 1 to 5", HALL_OPT "--score --ticket --counter",
     "--hall --score", 0, 0, NULL},
    {"device", s_device, "device DEVICE --hall URL --kind K --state S [--detail ...]",
     "a device's status (kind kiosk, self_service, display, counter_terminal; state ok, fault, "
     "paper_out, offline)",
     HALL_OPT "--kind --state --detail", "--hall --kind --state", 1, 1, "a device id"},
    /* the head office's control plane */
    {"org-show", s_hq_org_show, "org-show --hq URL", "the region tree and the hall registry",
     "--hq", "--hq", 0, 0, NULL},
    {"org-set", s_hq_org_set, "org-set FILE --hq URL",
     "replace the whole organisation with the document in FILE", "--hq", "--hq", 1, 1,
     "a document file"},
    {"region-put", s_hq_region_put,
     "region-put ID --name N --level national|province|city [--parent P] --hq URL",
     "add a region, or rename one", "--hq --name --level --parent", "--hq --name --level", 1, 1,
     "a region id"},
    {"hall-place", s_hq_hall_place, "hall-place HALL --city C [--tags a,b] [--name N] --hq URL",
     "enrol a hall in a city, or move it (its name, tags and neighbours stay unless given)",
     "--hq --city --tags --name", "--hq --city", 1, 1, "a hall id"},
    {"policy-set", s_hq_policy_set, "policy-set SCOPE FILE --hq URL",
     "set the draft policy of SCOPE (national, region/ID or hall/ID)", "--hq", "--hq", 2, 2,
     "a scope and a document file"},
    {"policy-show", s_hq_policy_show, "policy-show [SCOPE] --hq URL",
     "the draft and published policies, or one scope's documents", "--hq", "--hq", 0, 1, NULL},
    {"policy-effective", s_hq_policy_effective, "policy-effective HALL [--drafts] --hq URL",
     "a hall's effective policy, published or with the drafts", "--hq --drafts", "--hq", 1, 1,
     "a hall id"},
    {"policy-publish", s_hq_policy_publish, "policy-publish --by USER --hq URL",
     "publish the drafts as the next policy version", "--hq --by", "--hq --by", 0, 0, NULL},
    {"campaign-create", s_hq_campaign_create, "campaign-create FILE --by USER --hq URL",
     "add the campaign document in FILE as a draft", "--hq --by", "--hq --by", 1, 1,
     "a document file"},
    {"campaign-submit", s_hq_campaign_step, "campaign-submit ID --by USER [--note T] --hq URL",
     "submit a draft for review", "--hq --by --note", "--hq --by", 1, 1, "a campaign id"},
    {"campaign-return", s_hq_campaign_step, "campaign-return ID --by USER [--note T] --hq URL",
     "return a submitted campaign to its author", "--hq --by --note", "--hq --by", 1, 1,
     "a campaign id"},
    {"campaign-approve", s_hq_campaign_step, "campaign-approve ID --by USER [--note T] --hq URL",
     "approve a submitted campaign; the coordination check must find no error naming it",
     "--hq --by --note", "--hq --by", 1, 1, "a campaign id"},
    {"campaign-publish", s_hq_campaign_step, "campaign-publish ID --by USER [--note T] --hq URL",
     "publish an approved campaign to its halls (checked again)", "--hq --by --note", "--hq --by",
     1, 1, "a campaign id"},
    {"campaign-withdraw", s_hq_campaign_step,
     "campaign-withdraw ID --by USER [--note T] --hq URL",
     "withdraw an approved or published campaign", "--hq --by --note", "--hq --by", 1, 1,
     "a campaign id"},
    {"campaign-list", s_hq_campaign_list, "campaign-list [--state S] --hq URL",
     "the campaigns (state draft, submitted, approved, published, withdrawn)", "--hq --state",
     "--hq", 0, 0, NULL},
    {"campaign-show", s_hq_campaign_show, "campaign-show ID --hq URL",
     "one campaign: its texts, FAQ and history", "--hq", "--hq", 1, 1, "a campaign id"},
    {"campaign-check", s_hq_campaign_check, "campaign-check [FILE] --hq URL",
     "the coordination check's findings, with the campaign in FILE as if submitted; exits 1 "
     "when there are errors",
     "--hq", "--hq", 0, 1, NULL},
    {"campaign-export", s_hq_campaign_export, "campaign-export [--csv] --hq URL",
     "every campaign with its state, as JSON or CSV", "--hq --csv", "--hq", 0, 0, NULL},
    {"glossary-set", s_hq_glossary_set, "glossary-set FILE --hq URL",
     "replace the glossary of jargon", "--hq", "--hq", 1, 1, "a document file"},
    {"glossary-show", s_hq_glossary_show, "glossary-show --hq URL", "the glossary of jargon",
     "--hq", "--hq", 0, 0, NULL},
    {"rollout", s_hq_rollout, "rollout [--halls N] --hq URL",
     "how many halls run the newest policy and calendar versions (with N hall ids per group)",
     "--hq --halls", "--hq", 0, 0, NULL},
    {"help", s_help, "help", "print this", "", NULL, 0, 0, NULL},
};
#undef HALL_OPT
#define NCOMMANDS (sizeof s_commands / sizeof s_commands[0])

static void s_usage(FILE *out)
{
    fprintf(out, "usage: hallctl COMMAND [options]\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  hallctl %s\n      %s\n", s_commands[i].usage, s_commands[i].help);
    fprintf(out, "\nCommands that talk to an API take --json to print its answer as it came.\n"
                 "Exit codes: 0 done, 1 failed or refused (the reason is printed), 2 bad usage.\n");
}

static int s_help(const opts_t *o)
{
    (void)o;
    s_usage(stdout);
    return 0;
}

/* Whether `name` is one of the space-separated words of `list`. */
static bool s_listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list ? list : ""; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
    }
    return false;
}

static const option_def_t *s_option(const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcmp(s_options[i].name, name) == 0)
            return &s_options[i];
    return NULL;
}

static const char **s_opt_value(opts_t *o, const option_def_t *def)
{
    return (const char **)(void *)((char *)o + def->offset);
}

/* Reads the command line into `o`; returns -1 when it is fine, else the
 * exit code (0 after --help). */
static int s_parse(const command_t *cmd, int argc, char **argv, opts_t *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            printf("usage: hallctl %s\n  %s\n", cmd->usage, cmd->help);
            return 0;
        }
        if (a[0] == '-' && a[1] != '\0') {
            const option_def_t *def = s_option(a);
            if (!def) {
                fprintf(stderr, "hallctl %s: unknown option '%s'\nusage: hallctl %s\n", cmd->name,
                        a, cmd->usage);
                return EXIT_USAGE;
            }
            bool any = strcmp(a, "--json") == 0 && cmd->run != s_help;
            if (!any && !s_listed(cmd->options, a)) {
                fprintf(stderr, "hallctl %s: option '%s' does not apply to %s\nusage: hallctl %s\n",
                        cmd->name, a, cmd->name, cmd->usage);
                return EXIT_USAGE;
            }
            if (def->flag) {
                *(bool *)(void *)((char *)o + def->offset) = true;
                continue;
            }
            if (i + 1 >= argc) {
                fprintf(stderr, "hallctl %s: %s needs a value\n", cmd->name, a);
                return EXIT_USAGE;
            }
            *s_opt_value(o, def) = argv[++i];
            continue;
        }
        if (o->n_args >= cmd->max_args) {
            fprintf(stderr, "hallctl %s: unexpected argument '%s'\nusage: hallctl %s\n", cmd->name,
                    a, cmd->usage);
            return EXIT_USAGE;
        }
        o->args[o->n_args++] = a;
    }
    if (o->n_args < cmd->min_args) {
        fprintf(stderr, "hallctl %s: needs %s\nusage: hallctl %s\n", cmd->name,
                cmd->args_what ? cmd->args_what : "an argument", cmd->usage);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < NOPTIONS; i++) {
        const option_def_t *def = &s_options[i];
        if (!def->flag && s_listed(cmd->required, def->name) && !*s_opt_value(o, def)) {
            fprintf(stderr, "hallctl %s: %s is required\nusage: hallctl %s\n", cmd->name, def->name,
                    cmd->usage);
            return EXIT_USAGE;
        }
    }
    return -1;
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
    opts_t o = {.command = cmd->name, .hq_endpoint = "tcp://127.0.0.1:7400"};
    int rc = s_parse(cmd, argc, argv, &o);
    if (rc >= 0)
        return rc;
    return cmd->run(&o);
}
