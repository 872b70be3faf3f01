/* hallsim: realistic traffic for N halls through their local APIs, so the
 * system can be watched working. Each hall simulates an opening day second
 * by second, faster than real time (--speed): customers arrive on a curve
 * with a morning and a lunch peak, pick a service and a priority, wait for
 * one of the hall's counters, are served for a time that depends on the
 * business type, sometimes do not show, sometimes complain; counters rotate
 * for lunch; the kiosk runs out of paper now and then. The events go to
 * POST /v1/events in the hall's JSON form, stamped with the real time of
 * posting. It does not run a queue itself: the hall engine issue makes the
 * hall do that, and then hallsim will drive its ticket endpoints instead. */
#include "hallbus/httpc.h"
#include "hallbus/time.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_HALLS 64
#define MAX_COUNTERS 6
#define MAX_WAITING 512
#define MAX_COMPLAINTS 32
#define OPEN_S (9 * 3600)
#define CLOSE_S (17 * 3600)

typedef struct ticket {
    char id[16];
    char service;
    int priority; /* 0 normal, 1 elderly, 2 vip, 3 appointment */
    int issued_s;
} ticket_t;

typedef struct counter {
    char id[16];
    char staff[16];
    int busy_until; /* sim second the current service ends; 0 = idle */
    bool paused;
    ticket_t serving;
    const char *business;
    int started_s;
} counter_t;

typedef struct complaint {
    char id[16];
    int ack_at, resolve_at;
    bool acked;
} complaint_t;

typedef struct hall {
    char url[256];
    double size; /* customers per minute at the base rate */
    int n_counters;
    counter_t counters[MAX_COUNTERS];
    ticket_t waiting[MAX_WAITING];
    int n_waiting;
    int next_number[3];
    complaint_t complaints[MAX_COMPLAINTS];
    int n_complaints, complaint_seq;
    int paper_back_at;
    json_t *pending; /* events not yet posted, in order */
    unsigned long posted, failures;
    bool failing;
} hall_t;

static volatile sig_atomic_t s_stop;
static unsigned s_seed = 1;

static double s_rand(void) { return (double)rand_r(&s_seed) / ((double)RAND_MAX + 1.0); }

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Customers per second at time-of-day `t`: a base plus morning and lunch peaks. */
static double s_rate(const hall_t *h, int t)
{
    double m = (t - 10 * 3600) / 2700.0, l = (t - (12 * 3600 + 1800)) / 2400.0;
    return h->size / 60.0 * (0.5 + 1.3 * exp(-m * m) + 1.0 * exp(-l * l));
}

static void s_emit(hall_t *h, json_t *ev) { json_array_append_new(h->pending, ev); }

static const char *s_business(char service, int *mean_s)
{
    static const struct {
        char service;
        const char *name;
        int mean_s;
    } types[] = {
        {'A', "bill_payment", 180}, {'A', "cash_withdrawal", 240}, {'B', "account_opening", 1200},
        {'B', "card_loss", 600},    {'B', "plan_change", 720},     {'C', "loan_enquiry", 1500},
    };
    int pick = -1;
    for (int tries = 0; tries < 20 && pick < 0; tries++) {
        int i = (int)(s_rand() * 6);
        if (types[i].service == service)
            pick = i;
    }
    if (pick < 0)
        pick = service == 'A' ? 0 : service == 'B' ? 2 : 5;
    *mean_s = types[pick].mean_s;
    return types[pick].name;
}

static void s_arrive(hall_t *h, int t)
{
    if (h->n_waiting >= MAX_WAITING)
        return;
    double r = s_rand();
    char service = r < 0.5 ? 'A' : r < 0.8 ? 'B' : 'C';
    double p = s_rand();
    int prio = p < 0.85 ? 0 : p < 0.93 ? 1 : p < 0.97 ? 2 : 3;
    static const char *const prio_names[] = {"normal", "elderly", "vip", "appointment"};
    ticket_t *tk = &h->waiting[h->n_waiting++];
    snprintf(tk->id, sizeof tk->id, "%c%03d", service, ++h->next_number[service - 'A'] % 1000);
    tk->service = service;
    tk->priority = prio;
    tk->issued_s = t;
    char svc[2] = {service, 0};
    s_emit(h, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "ticket_issued", "ticket", tk->id,
                        "service", svc, "priority", prio_names[prio], "source",
                        prio == 3 ? "app" : "kiosk"));
}

/* The next ticket for a counter: priorities first, then the oldest. */
static int s_pick(hall_t *h)
{
    int best = -1;
    for (int i = 0; i < h->n_waiting; i++) {
        if (best < 0 || (h->waiting[i].priority > 0) > (h->waiting[best].priority > 0))
            best = i;
    }
    return best;
}

static void s_serve(hall_t *h, counter_t *c, int t)
{
    int i = s_pick(h);
    if (i < 0)
        return;
    ticket_t tk = h->waiting[i];
    memmove(&h->waiting[i], &h->waiting[i + 1], (size_t)(h->n_waiting - i - 1) * sizeof tk);
    h->n_waiting--;
    s_emit(h, json_pack("{s:s, s:s, s:s, s:s, s:i}", "type", "ticket_called", "ticket", tk.id,
                        "counter", c->id, "rule", tk.priority > 0 ? "priority" : "fifo", "wait_s",
                        t - tk.issued_s));
    if (s_rand() < 0.03) { /* the customer has gone */
        for (int k = 1; k <= 2; k++)
            s_emit(h, json_pack("{s:s, s:s, s:s, s:i}", "type", "ticket_recalled", "ticket", tk.id,
                                "counter", c->id, "recall_count", k));
        s_emit(h, json_pack("{s:s, s:s, s:s, s:i}", "type", "ticket_no_show", "ticket", tk.id,
                            "counter", c->id, "recall_count", 2));
        return;
    }
    int mean;
    c->business = s_business(tk.service, &mean);
    /* Lognormal-ish spread around the business type's mean. */
    double f = exp((s_rand() + s_rand() + s_rand() - 1.5) * 0.6);
    c->busy_until = t + (int)(mean * f) + 30;
    c->started_s = t;
    c->serving = tk;
    s_emit(h, json_pack("{s:s, s:s, s:s, s:s}", "type", "service_started", "ticket", tk.id,
                        "counter", c->id, "staff", c->staff));
}

static void s_finish(hall_t *h, counter_t *c, int t)
{
    double o = s_rand();
    const char *outcome = o < 0.91 ? "done" : o < 0.96 ? "referred" : "rejected_documents";
    json_int_t amount = strcmp(c->business, "bill_payment") == 0 ||
                                strcmp(c->business, "cash_withdrawal") == 0
                            ? (json_int_t)(1000 + s_rand() * 50000)
                            : 0;
    s_emit(h, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:i}", "type", "service_completed",
                        "ticket", c->serving.id, "counter", c->id, "business_type", c->business,
                        "outcome", outcome, "amount", amount, "duration_s", t - c->started_s));
    if (s_rand() < 0.4) {
        double r = s_rand();
        int score = r < 0.45 ? 5 : r < 0.8 ? 4 : r < 0.92 ? 3 : r < 0.97 ? 2 : 1;
        s_emit(h, json_pack("{s:s, s:s, s:s, s:i}", "type", "satisfaction_scored", "ticket",
                            c->serving.id, "counter", c->id, "score", score));
    }
    if (s_rand() < 1.0 / 150 && h->n_complaints < MAX_COMPLAINTS) {
        static const char *const channels[] = {"counter", "phone", "email", "suggestion_box", "app"};
        static const char *const categories[] = {"waiting_time", "staff_attitude", "fees",
                                                 "documents", "facilities"};
        static const char *const severities[] = {"low", "medium", "high"};
        complaint_t *cp = &h->complaints[h->n_complaints++];
        snprintf(cp->id, sizeof cp->id, "C%04d", ++h->complaint_seq);
        cp->acked = false;
        cp->ack_at = t + 600 + (int)(s_rand() * 1800);
        cp->resolve_at = cp->ack_at + 3600 + (int)(s_rand() * 7200);
        s_emit(h, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "complaint_opened",
                            "complaint", cp->id, "channel", channels[(int)(s_rand() * 5)],
                            "category", categories[(int)(s_rand() * 5)], "severity",
                            severities[(int)(s_rand() * 3)], "ticket", c->serving.id, "text",
                            "customer unhappy with the visit"));
    }
    c->busy_until = 0;
}

static void s_complaints(hall_t *h, int t)
{
    for (int i = 0; i < h->n_complaints; i++) {
        complaint_t *cp = &h->complaints[i];
        if (!cp->acked && t >= cp->ack_at) {
            cp->acked = true;
            s_emit(h, json_pack("{s:s, s:s, s:s}", "type", "complaint_acknowledged", "complaint",
                                cp->id, "by", "M01"));
        } else if (cp->acked && t >= cp->resolve_at) {
            s_emit(h, json_pack("{s:s, s:s, s:s, s:b}", "type", "complaint_resolved",
                                "complaint", cp->id, "resolution", "explained and apologised",
                                "customer_satisfied", s_rand() < 0.7));
            h->complaints[i--] = h->complaints[--h->n_complaints];
        }
    }
}

/* One simulated second of one hall. */
static void s_step(hall_t *h, int t)
{
    if (t == OPEN_S) {
        for (int i = 0; i < h->n_counters; i++) {
            counter_t *c = &h->counters[i];
            json_t *svcs = i == 0 ? json_pack("[s,s,s]", "A", "B", "C")
                                  : i % 2 ? json_pack("[s,s]", "A", "B") : json_pack("[s,s]", "B", "C");
            s_emit(h, json_pack("{s:s, s:s, s:s, s:o}", "type", "counter_opened", "counter", c->id,
                                "staff", c->staff, "services", svcs));
        }
        s_emit(h, json_pack("{s:s, s:s, s:s, s:s}", "type", "device_status", "device", "kiosk-1",
                            "kind", "kiosk", "state", "ok"));
    }
    /* Lunch rotation: counters take turns, half an hour each. */
    for (int i = 1; i < h->n_counters; i++) {
        counter_t *c = &h->counters[i];
        int start = 12 * 3600 + (i - 1) * 1800;
        if (t == start && !c->paused) {
            c->paused = true;
            s_emit(h, json_pack("{s:s, s:s, s:s}", "type", "counter_paused", "counter", c->id,
                                "reason", "lunch"));
        } else if (t == start + 1800 && c->paused) {
            c->paused = false;
            s_emit(h, json_pack("{s:s, s:s}", "type", "counter_resumed", "counter", c->id));
        }
    }
    if (t < CLOSE_S && s_rand() < s_rate(h, t))
        s_arrive(h, t);
    for (int i = 0; i < h->n_counters; i++) {
        counter_t *c = &h->counters[i];
        if (c->busy_until && t >= c->busy_until)
            s_finish(h, c, t);
        if (!c->busy_until && !c->paused)
            s_serve(h, c, t);
    }
    s_complaints(h, t);
    if (!h->paper_back_at && s_rand() < 1.0 / 20000) {
        h->paper_back_at = t + 900;
        s_emit(h, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "device_status", "device",
                            "kiosk-1", "kind", "kiosk", "state", "paper_out", "detail",
                            "ticket printer empty"));
    } else if (h->paper_back_at && t >= h->paper_back_at) {
        h->paper_back_at = 0;
        s_emit(h, json_pack("{s:s, s:s, s:s, s:s}", "type", "device_status", "device", "kiosk-1",
                            "kind", "kiosk", "state", "ok"));
    }
    if (t == CLOSE_S + 3600) {
        for (int i = 0; i < h->n_counters; i++)
            s_emit(h, json_pack("{s:s, s:s}", "type", "counter_closed", "counter",
                                h->counters[i].id));
    }
}

/* Posts what is pending; keeps it (in order) when the hall does not take it. */
static void s_flush(hall_t *h, bool dry_run)
{
    size_t n = json_array_size(h->pending);
    if (n == 0)
        return;
    if (dry_run) {
        for (size_t i = 0; i < n; i++) {
            char *line = json_dumps(json_array_get(h->pending, i), JSON_COMPACT);
            printf("%s %s\n", h->url, line);
            free(line);
        }
        json_array_clear(h->pending);
        return;
    }
    json_t *batch = json_array();
    size_t take = n < 500 ? n : 500;
    for (size_t i = 0; i < take; i++)
        json_array_append(batch, json_array_get(h->pending, i));
    char *body = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    hb_httpc_resp_t r;
    char err[256];
    int rc = hb_httpc_request(h->url, "POST", "/v1/events", body, 5000, &r, err, sizeof err);
    free(body);
    if (rc == 0 && r.status == 200) {
        for (size_t i = 0; i < take; i++)
            json_array_remove(h->pending, 0);
        h->posted += take;
        if (h->failing)
            fprintf(stderr, "hallsim: %s takes events again\n", h->url);
        h->failing = false;
    } else {
        h->failures++;
        if (!h->failing)
            fprintf(stderr, "hallsim: %s refused events (%s); keeping them and retrying\n",
                    h->url, rc == 0 ? r.body : err);
        h->failing = true;
    }
    if (rc == 0)
        hb_httpc_resp_free(&r);
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: hallsim --hall URL [--hall URL ...] [--speed X] [--duration D] [--seed N]\n"
            "               [--dry-run]\n"
            "  --hall URL     a hall's local API, e.g. http://127.0.0.1:8101 (up to %d)\n"
            "  --speed X      simulated seconds per real second (default 60)\n"
            "  --duration D   stop after D real seconds (default: run until stopped)\n"
            "  --seed N       random seed (default 1): the same seed, the same day\n"
            "  --dry-run      print the events instead of posting them\n",
            MAX_HALLS);
}

int main(int argc, char **argv)
{
    static hall_t halls[MAX_HALLS];
    int n = 0;
    double speed = 60;
    long duration = 0;
    bool dry_run = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--help") == 0) {
            s_usage(stdout);
            return 0;
        } else if (strcmp(a, "--dry-run") == 0) {
            dry_run = true;
            continue;
        } else if (!v) {
            fprintf(stderr, "hallsim: %s needs a value\n", a);
            return 2;
        } else if (strcmp(a, "--hall") == 0) {
            if (n == MAX_HALLS || strlen(v) >= sizeof halls[0].url) {
                fprintf(stderr, "hallsim: at most %d halls, each URL under 256 bytes\n", MAX_HALLS);
                return 2;
            }
            snprintf(halls[n++].url, sizeof halls[0].url, "%s", v);
        } else if (strcmp(a, "--speed") == 0) {
            speed = strtod(v, &end);
            if (*end || speed <= 0 || speed > 100000) {
                fprintf(stderr, "hallsim: --speed must be a number from 0 to 100000\n");
                return 2;
            }
        } else if (strcmp(a, "--duration") == 0) {
            duration = strtol(v, &end, 10);
            if (*end || duration <= 0) {
                fprintf(stderr, "hallsim: --duration must be a whole number of seconds\n");
                return 2;
            }
        } else if (strcmp(a, "--seed") == 0) {
            s_seed = (unsigned)strtoul(v, &end, 10);
            if (*end) {
                fprintf(stderr, "hallsim: --seed must be a whole number\n");
                return 2;
            }
        } else {
            fprintf(stderr, "hallsim: unknown option '%s'\n", a);
            s_usage(stderr);
            return 2;
        }
        i++;
    }
    if (n == 0) {
        fprintf(stderr, "hallsim: give at least one --hall URL\n");
        s_usage(stderr);
        return 2;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    for (int i = 0; i < n; i++) {
        hall_t *h = &halls[i];
        h->size = 0.6 + s_rand() * 1.2;
        h->n_counters = 3 + (int)(s_rand() * 4);
        for (int c = 0; c < h->n_counters; c++) {
            snprintf(h->counters[c].id, sizeof h->counters[c].id, "%d", c + 1);
            snprintf(h->counters[c].staff, sizeof h->counters[c].staff, "E%02d", c + 1);
        }
        h->pending = json_array();
    }
    int t = OPEN_S;
    int64_t start = hb_mono_ms(), last_report = start;
    while (!s_stop) {
        int64_t now = hb_mono_ms();
        if (duration && now - start >= duration * 1000)
            break;
        /* Advance simulated time to where the real clock says it should be. */
        int target = OPEN_S + (int)((double)(now - start) / 1000.0 * speed);
        while (t < target && !s_stop) {
            for (int i = 0; i < n; i++)
                s_step(&halls[i], t);
            t++;
            if (t >= CLOSE_S + 3600 + 1) { /* the day is over: the next one begins */
                t = OPEN_S;
                start = now;
                target = OPEN_S;
            }
        }
        for (int i = 0; i < n; i++)
            s_flush(&halls[i], dry_run);
        if (now - last_report >= 10000) {
            last_report = now;
            fprintf(stderr, "hallsim: simulated %02d:%02d;", t / 3600, t / 60 % 60);
            for (int i = 0; i < n; i++)
                fprintf(stderr, " %s %lu posted%s", halls[i].url, halls[i].posted,
                        halls[i].failing ? " (failing)" : "");
            fputc('\n', stderr);
        }
        if (dry_run && duration == 0 && t >= CLOSE_S + 3600)
            break;
        usleep(200000);
    }
    unsigned long total = 0, failures = 0;
    for (int i = 0; i < n; i++) {
        total += halls[i].posted;
        failures += halls[i].failures;
        json_decref(halls[i].pending);
    }
    fprintf(stderr, "hallsim: stopped; %lu events posted, %lu failed posts retried\n", total,
            failures);
    return 0;
}
