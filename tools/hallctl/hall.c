/* hallctl's commands for a hall's local API, played the way a kiosk, a
 * counter terminal or the duty manager would (tickets, counters, complaints,
 * feedback, devices, the live hall), and the halls as HQ lists them. Each
 * answer is printed as a line a person reads, or as it came with --json. */
#include "hallctl.h"

#include "hallbus/cert.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
           service ? service : "", hallctl_jint(adv, "waiting"), hallctl_jint(adv, "threshold"),
           hallctl_jlist(adv, "echannels", ", ", ch, sizeof ch),
           json_array_size(json_object_get(adv, "nearby")) ? "; nearby halls " : "",
           hallctl_jlist(adv, "nearby", ", ", near, sizeof near));
}

static void s_print_ticket(const opts_t *o, const json_t *a)
{
    (void)o;
    const char *state = hallctl_jstr(a, "state");
    char buf[64];
    printf("%s  ", hallctl_jstr(a, "ticket"));
    if (strcmp(state, "waiting") == 0)
        printf("position %lld in %s, %s%s\n", hallctl_jint(a, "position"),
               hallctl_jstr(a, "service"),
               s_about(hallctl_jint(a, "estimated_wait_s"), buf, sizeof buf),
               json_is_true(json_object_get(a, "transferred")) ? " (transferred)" : "");
    else if (strcmp(state, "called") == 0 && hallctl_jint(a, "recalls") > 0)
        printf("called to counter %s (recall %lld)\n", hallctl_jstr(a, "counter"),
               hallctl_jint(a, "recalls"));
    else if (strcmp(state, "called") == 0)
        printf("called to counter %s\n", hallctl_jstr(a, "counter"));
    else if (strcmp(state, "serving") == 0)
        printf("being served at counter %s\n", hallctl_jstr(a, "counter"));
    else if (strcmp(state, "served") == 0)
        printf("served (%s)\n", hallctl_jstr(a, "outcome"));
    else if (strcmp(state, "no_show") == 0)
        printf("no-show after %lld recall(s)\n", hallctl_jint(a, "recalls"));
    else
        printf("%s\n", state);
    s_print_advice(json_object_get(a, "advice"), NULL);
}

static void s_print_call(const opts_t *o, const json_t *a)
{
    (void)o;
    char buf[64];
    printf("%s  to counter %s (service %s, rule %s, waited %s)\n", hallctl_jstr(a, "ticket"),
           hallctl_jstr(a, "counter"), hallctl_jstr(a, "service"), hallctl_jstr(a, "rule"),
           s_dur(hallctl_jint(a, "wait_s"), buf, sizeof buf));
}

static void s_print_counter(const opts_t *o, const json_t *a)
{
    (void)o;
    char svcs[256];
    printf("counter %s  %s, staff %s, services %s", hallctl_jstr(a, "counter"),
           hallctl_jstr(a, "state"), hallctl_jstr(a, "staff"),
           hallctl_jlist(a, "services", ",", svcs, sizeof svcs));
    if (json_is_string(json_object_get(a, "ticket")))
        printf(", ticket %s", hallctl_jstr(a, "ticket"));
    printf(", served %lld today\n", hallctl_jint(a, "served"));
}

static void s_print_complaint(const opts_t *o, const json_t *a)
{
    (void)o;
    const char *state = hallctl_jstr(a, "state");
    printf("%s  %s", hallctl_jstr(a, "complaint"), state);
    if (strcmp(state, "resolved") != 0) {
        printf(", %s, %s", hallctl_jstr(a, "severity"), hallctl_jstr(a, "category"));
        if (strcmp(state, "open") == 0 && json_is_string(json_object_get(a, "ack_due")))
            printf(", acknowledge by %s", hallctl_jstr(a, "ack_due"));
        if (json_is_string(json_object_get(a, "acknowledged_by")))
            printf(", acknowledged by %s", hallctl_jstr(a, "acknowledged_by"));
        if (json_is_string(json_object_get(a, "resolve_due")))
            printf(", resolve by %s", hallctl_jstr(a, "resolve_due"));
        if (json_is_string(json_object_get(a, "escalation")))
            printf(", escalated to %s", hallctl_jstr(a, "escalation"));
        if (json_is_true(json_object_get(a, "overdue")))
            printf(", OVERDUE");
    }
    printf("\n");
}

static void s_print_complaints(const opts_t *o, const json_t *a)
{
    hallctl_print_each(o, a, "complaints", s_print_complaint);
    printf("%lld complaint(s) %s\n", hallctl_jint(a, "count"), hallctl_jstr(a, "state"));
}

static void s_print_feedback(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("score %lld recorded\n", hallctl_jint(a, "score"));
}

static void s_print_device(const opts_t *o, const json_t *a)
{
    (void)o;
    printf("device %s  %s, %s\n", hallctl_jstr(a, "device"), hallctl_jstr(a, "kind"),
           hallctl_jstr(a, "state"));
}

/* GET /v1/hall as a page a duty manager reads at a glance. */
static void s_print_hall(const opts_t *o, const json_t *h)
{
    (void)o;
    char b1[64], b2[64], b3[64], list[512];
    printf("hall %s  ", hallctl_jstr(h, "hall"));
    if (json_is_true(json_object_get(h, "open"))) {
        if (json_is_string(json_object_get(h, "closes")))
            printf("open, closes %s\n", hallctl_jstr(h, "closes"));
        else
            printf("open round the clock\n");
    } else {
        printf("closed (%s)", hallctl_jstr(h, "open_state"));
        if (json_is_string(json_object_get(h, "notice")))
            printf(": %s", hallctl_jstr(h, "notice"));
        printf("; next opening %s", json_is_string(json_object_get(h, "next_open"))
                                        ? hallctl_jstr(h, "next_open")
                                        : "none planned");
        if (json_array_size(json_object_get(h, "divert_to")))
            printf("; divert to %s", hallctl_jlist(h, "divert_to", ", ", list, sizeof list));
        printf("\n");
    }
    printf("waiting %lld (longest %s); counters open %lld, busy %lld\n", hallctl_jint(h, "waiting"),
           s_dur(hallctl_jint(h, "longest_wait_s"), b1, sizeof b1),
           hallctl_jint(h, "counters_open"), hallctl_jint(h, "counters_busy"));
    size_t i;
    json_t *v;
    printf("  %-10s %7s %9s %7s %7s %8s %9s %12s\n", "service", "waiting", "oldest", "issued",
           "served", "no-shows", "avg wait", "avg service");
    json_array_foreach (json_object_get(h, "services"), i, v)
        printf("  %-10s %7lld %9s %7lld %7lld %8lld %9s %12s\n", hallctl_jstr(v, "service"),
               hallctl_jint(v, "waiting"), s_dur(hallctl_jint(v, "oldest_wait_s"), b1, sizeof b1),
               hallctl_jint(v, "issued"), hallctl_jint(v, "served"), hallctl_jint(v, "no_shows"),
               s_dur(hallctl_jint(v, "avg_wait_s"), b2, sizeof b2),
               s_dur(hallctl_jint(v, "avg_service_s"), b3, sizeof b3));
    if (json_array_size(json_object_get(h, "counters")))
        printf("counters:\n");
    json_array_foreach (json_object_get(h, "counters"), i, v) {
        double util = json_number_value(json_object_get(v, "utilisation"));
        printf("  %-10s %-8s staff %-8s services %-12s served %lld, busy %.0f%%%s%s\n",
               hallctl_jstr(v, "counter"), hallctl_jstr(v, "state"), hallctl_jstr(v, "staff"),
               hallctl_jlist(v, "services", ",", list, sizeof list), hallctl_jint(v, "served"),
               util * 100.0, json_is_string(json_object_get(v, "ticket")) ? ", ticket " : "",
               hallctl_jstr(v, "ticket"));
    }
    const json_t *cs = json_object_get(h, "complaints");
    printf("complaints: %lld open, %lld overdue\n", hallctl_jint(cs, "open"),
           hallctl_jint(cs, "overdue"));
    json_array_foreach (json_object_get(cs, "list"), i, v) {
        printf("  ");
        s_print_complaint(o, v);
    }
    printf("devices not ok: %lld\n", hallctl_jint(h, "devices_not_ok"));
    json_array_foreach (json_object_get(h, "devices"), i, v) {
        if (strcmp(hallctl_jstr(v, "state"), "ok") != 0)
            printf("  %-10s %s, %s since %s%s%s\n", hallctl_jstr(v, "device"),
                   hallctl_jstr(v, "kind"), hallctl_jstr(v, "state"), hallctl_jstr(v, "since"),
                   hallctl_jstr(v, "detail")[0] ? ": " : "", hallctl_jstr(v, "detail"));
    }
    const json_t *t = json_object_get(h, "today");
    printf("today %s: issued %lld, served %lld, no-shows %lld, cancelled %lld, transferred %lld; "
           "avg wait %s, avg service %s",
           json_is_string(json_object_get(h, "date")) ? hallctl_jstr(h, "date") : "(not started)",
           hallctl_jint(t, "issued"), hallctl_jint(t, "served"), hallctl_jint(t, "no_shows"),
           hallctl_jint(t, "cancelled"), hallctl_jint(t, "transferred"),
           s_dur(hallctl_jint(t, "avg_wait_s"), b1, sizeof b1),
           s_dur(hallctl_jint(t, "avg_service_s"), b2, sizeof b2));
    if (json_is_number(json_object_get(t, "satisfaction_avg")))
        printf("; satisfaction %.2f from %lld",
               json_number_value(json_object_get(t, "satisfaction_avg")),
               hallctl_jint(t, "feedback_count"));
    printf("\n");
    json_array_foreach (json_object_get(h, "advice"), i, v)
        s_print_advice(v, hallctl_jstr(v, "service"));
}

/* ------------------------------------------------------ HQ's halls ---- */

static int s_get(const opts_t *o, const char *path)
{
    int status = 0;
    json_t *j = NULL;
    int rc = hallctl_request(o, o->hq, "--hq", "GET", path, NULL, &status, &j);
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
        hallctl_print_json(j);
    }
    json_decref(j);
    return rc;
}

static int s_halls(const opts_t *o) { return s_get(o, "/v1/halls"); }

/* ----------------------------------------------- a hall's local API ---- */

/* One request to the hall's API, its answer printed (hallctl_do). */
static int s_hall_do(const opts_t *o, const char *method, const char *path, json_t *body,
                     hallctl_print_fn print)
{
    return hallctl_do(o, o->hall, "--hall", "the hall", method, path, body, print, NULL);
}

/* One member of a request's body: its text is the command's argument `arg`
 * (0 or 1), or the option at `opt` (an offset into opts_t) when `arg` is
 * -1. */
typedef struct request_member {
    const char *name; /* the JSON member */
    int arg;
    size_t opt;
    const char *what; /* the argument or option, for messages */
    int kind;         /* M_STR ... */
} request_member_t;

#define ARG(n) (n), 0
#define OPT(field) -1, offsetof(opts_t, field)
#define REQUEST_MEMBERS_MAX 5

/* A command that POSTs to the hall: to `collection` itself, or with
 * `action` to <collection><its first argument><action>; its body from
 * `members` (those given), its answer printed by `print`. */
typedef struct hall_request {
    const char *command;
    const char *collection, *action;
    hallctl_print_fn print;
    request_member_t members[REQUEST_MEMBERS_MAX];
} hall_request_t;

static const hall_request_t s_requests[] = {
    {"ticket",
     "/v1/tickets",
     NULL,
     s_print_ticket,
     {{"service", ARG(0), "SERVICE", M_STR},
      {"priority", OPT(priority), "--priority", M_STR},
      {"source", OPT(source), "--source", M_STR}}},
    {"recall", "/v1/tickets/", "/recall", s_print_ticket, {{0}}},
    {"no-show", "/v1/tickets/", "/no-show", s_print_ticket, {{0}}},
    {"transfer",
     "/v1/tickets/",
     "/transfer",
     s_print_ticket,
     {{"service", ARG(1), "SERVICE", M_STR}}},
    {"cancel",
     "/v1/tickets/",
     "/cancel",
     s_print_ticket,
     {{"reason", OPT(reason), "--reason", M_STR}}},
    {"counter-open",
     "/v1/counters/",
     "/open",
     s_print_counter,
     {{"staff", OPT(staff), "--staff", M_STR}, {"services", OPT(services), "--services", M_LIST}}},
    {"counter-pause",
     "/v1/counters/",
     "/pause",
     s_print_counter,
     {{"reason", OPT(reason), "--reason", M_STR}}},
    {"counter-resume", "/v1/counters/", "/resume", s_print_counter, {{0}}},
    {"counter-close", "/v1/counters/", "/close", s_print_counter, {{0}}},
    {"call", "/v1/counters/", "/call", s_print_call, {{"ticket", OPT(ticket), "--ticket", M_STR}}},
    {"start", "/v1/counters/", "/start", s_print_counter, {{0}}},
    {"complete",
     "/v1/counters/",
     "/complete",
     s_print_counter,
     {{"business_type", OPT(business_type), "--business-type", M_STR},
      {"outcome", OPT(outcome), "--outcome", M_STR},
      {"amount", OPT(amount), "--amount", M_NONNEG},
      {"currency", OPT(currency), "--currency", M_STR}}},
    {"complaint",
     "/v1/complaints",
     NULL,
     s_print_complaint,
     {{"channel", OPT(channel), "--channel", M_STR},
      {"category", OPT(category), "--category", M_STR},
      {"severity", OPT(severity), "--severity", M_STR},
      {"ticket", OPT(ticket), "--ticket", M_STR},
      {"text", OPT(text), "--text", M_STR}}},
    {"complaint-ack",
     "/v1/complaints/",
     "/ack",
     s_print_complaint,
     {{"by", OPT(by), "--by", M_STR}}},
    {"complaint-escalate",
     "/v1/complaints/",
     "/escalate",
     s_print_complaint,
     {{"level", OPT(level), "--level", M_STR}, {"reason", OPT(reason), "--reason", M_STR}}},
    {"complaint-resolve",
     "/v1/complaints/",
     "/resolve",
     s_print_complaint,
     {{"resolution", OPT(resolution), "--resolution", M_STR},
      {"customer_satisfied", OPT(satisfied), "--satisfied", M_YESNO}}},
    {"feedback",
     "/v1/feedback",
     NULL,
     s_print_feedback,
     {{"score", OPT(score), "--score", M_INT},
      {"ticket", OPT(ticket), "--ticket", M_STR},
      {"counter", OPT(counter), "--counter", M_STR}}},
    {"device",
     "/v1/devices/",
     "/status",
     s_print_device,
     {{"kind", OPT(kind), "--kind", M_STR},
      {"state", OPT(state), "--state", M_STR},
      {"detail", OPT(detail), "--detail", M_STR}}},
};
#undef ARG
#undef OPT

/* ---- the commands */

/* The commands of s_requests: the row named as the command is, its
 * members' texts taken from the command line. */
static int s_request(const opts_t *o)
{
    const hall_request_t *r = NULL;
    for (size_t i = 0; i < sizeof s_requests / sizeof s_requests[0] && !r; i++)
        if (strcmp(s_requests[i].command, o->command) == 0)
            r = &s_requests[i];
    assert(r); /* every command run by s_request has its row */
    hallctl_member_t m[REQUEST_MEMBERS_MAX];
    size_t n = 0;
    for (; n < REQUEST_MEMBERS_MAX && r->members[n].name; n++) {
        const request_member_t *rm = &r->members[n];
        const char *value =
            rm->arg >= 0 ? o->args[rm->arg] : *(char *const *)((const char *)o + rm->opt);
        m[n] = (hallctl_member_t){rm->name, value, rm->what, rm->kind};
    }
    if (!r->action)
        return hallctl_send_members(o, s_hall_do, "POST", r->collection, m, n, r->print);
    return hallctl_send_to(o, s_hall_do, "POST", r->collection, o->args[0], r->action, m, n,
                           r->print);
}

static int s_ticket_show(const opts_t *o)
{
    return hallctl_send_to(o, s_hall_do, "GET", "/v1/tickets/", o->args[0], "", NULL, 0,
                           s_print_ticket);
}

static int s_complaints(const opts_t *o)
{
    char path[API_PATH_MAX] = "/v1/complaints";
    size_t used = strlen(path);
    if (o->state) {
        memcpy(path + used, "?state=", 8);
        used += 7;
        if (hallctl_escape(path, sizeof path, &used, o->state) != 0) {
            fprintf(stderr, "hallctl %s: --state is too long\n", o->command);
            return EXIT_USAGE;
        }
    }
    return s_hall_do(o, "GET", path, NULL, s_print_complaints);
}

/* `hall --hall URL` reads a hall's own live state; `hall HALL --hq URL`
 * (the older form) shows the hall as HQ sees it. */
static int s_hall(const opts_t *o)
{
    /* An address given on the command line wins over $HALLBUS_HQ. */
    if (o->hall && o->hq && !o->hq_from_env) {
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
    if (hallctl_check_hall_id(o, o->args[0]) != 0)
        return EXIT_USAGE;
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/%s", o->args[0]);
    return s_get(o, path);
}

#define HALL_OPT "hall "
const hallctl_command_t hallctl_hall_commands[] = {
    {"halls", s_halls, "halls --hq http://HOST:PORT", "list the halls HQ knows", "hq", "hq", 0, 0,
     NULL},
    {"hall", s_hall, "hall --hall http://HOST:PORT | hall HALL --hq http://HOST:PORT",
     "a hall's live state from its own API (queue, counters, complaints, devices, today), or one "
     "hall as HQ sees it",
     "hall hq", NULL, 0, 1, "a hall id"},
    {"ticket", s_request, "ticket SERVICE --hall URL [--priority P] [--source S]",
     "take a ticket (priority normal, vip, elderly, appointment; source kiosk, app, staff)",
     HALL_OPT "priority source", "hall", 1, 1, "a service code"},
    {"ticket-show", s_ticket_show, "ticket-show TICKET --hall URL",
     "a ticket's state, position and estimated wait", HALL_OPT, "hall", 1, 1, "a ticket"},
    {"recall", s_request, "recall TICKET --hall URL",
     "call a called ticket again (past the hall's recalls it becomes a no-show)", HALL_OPT, "hall",
     1, 1, "a ticket"},
    {"no-show", s_request, "no-show TICKET --hall URL", "the called customer did not come",
     HALL_OPT, "hall", 1, 1, "a ticket"},
    {"transfer", s_request, "transfer TICKET SERVICE --hall URL",
     "move a ticket to another service (it keeps its number and its place)", HALL_OPT, "hall", 2, 2,
     "a ticket and a service code"},
    {"cancel", s_request, "cancel TICKET --hall URL [--reason R]",
     "cancel a waiting or called ticket", HALL_OPT "reason", "hall", 1, 1, "a ticket"},
    {"counter-open", s_request, "counter-open COUNTER --hall URL --staff S --services A,B",
     "open a counter with its staff and the services it serves", HALL_OPT "staff services",
     "hall staff services", 1, 1, "a counter"},
    {"counter-pause", s_request, "counter-pause COUNTER --hall URL [--reason R]",
     "pause an idle counter (a meal break)", HALL_OPT "reason", "hall", 1, 1, "a counter"},
    {"counter-resume", s_request, "counter-resume COUNTER --hall URL", "resume a paused counter",
     HALL_OPT, "hall", 1, 1, "a counter"},
    {"counter-close", s_request, "counter-close COUNTER --hall URL",
     "close an idle or paused counter", HALL_OPT, "hall", 1, 1, "a counter"},
    {"call", s_request, "call COUNTER --hall URL [--ticket T]",
     "call the next ticket by the queue rules (prints the rule that chose it), or ticket T",
     HALL_OPT "ticket", "hall", 1, 1, "a counter"},
    {"start", s_request, "start COUNTER --hall URL",
     "the called customer arrived at the counter: service starts", HALL_OPT, "hall", 1, 1,
     "a counter"},
    {"complete", s_request,
     "complete COUNTER --hall URL --business-type X [--outcome O] [--amount N] [--currency EUR]",
     "end the service at a counter (outcome done, referred, rejected_documents; amount in minor "
     "units)",
     HALL_OPT "business-type outcome amount currency", "hall business-type", 1, 1, "a counter"},
    {"complaint", s_request,
     "complaint --hall URL --channel X --category Y --severity Z [--ticket T] [--text ...]",
     "open a complaint (channel counter, phone, email, suggestion_box, app; severity low, "
     "medium, high, critical)",
     HALL_OPT "channel category severity ticket text", "hall channel category severity", 0, 0,
     NULL},
    {"complaints", s_complaints, "complaints --hall URL [--state open|acknowledged|overdue|all]",
     "list the hall's unresolved complaints", HALL_OPT "state", "hall", 0, 0, NULL},
    {"complaint-ack", s_request, "complaint-ack COMPLAINT --hall URL --by STAFF",
     "acknowledge a complaint", HALL_OPT "by", "hall by", 1, 1, "a complaint id"},
    {"complaint-escalate", s_request,
     "complaint-escalate COMPLAINT --hall URL [--level L] [--reason R]",
     "escalate a complaint one level, or to L (duty_manager, region, head_office)",
     HALL_OPT "level reason", "hall", 1, 1, "a complaint id"},
    {"complaint-resolve", s_request,
     "complaint-resolve COMPLAINT --hall URL --resolution R --satisfied yes|no",
     "resolve a complaint, saying whether the customer was satisfied",
     HALL_OPT "resolution satisfied", "hall resolution satisfied", 1, 1, "a complaint id"},
    {"feedback", s_request, "feedback --hall URL --score N [--ticket T] [--counter C]",
     "a customer's satisfaction score, 1 to 5", HALL_OPT "score ticket counter", "hall score", 0, 0,
     NULL},
    {"device", s_request, "device DEVICE --hall URL --kind K --state S [--detail ...]",
     "a device's status (kind kiosk, self_service, display, counter_terminal; state ok, fault, "
     "paper_out, offline)",
     HALL_OPT "kind state detail", "hall kind state", 1, 1, "a device id"},
};
const size_t hallctl_hall_ncommands =
    sizeof hallctl_hall_commands / sizeof hallctl_hall_commands[0];
#undef HALL_OPT
