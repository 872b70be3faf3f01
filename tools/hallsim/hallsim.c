/* hallsim: realistic traffic for N halls through their local APIs, so the
 * system can be watched working. Two modes share the traffic model
 * (tools/hallsim/sim.c: arrivals on a curve, the proportions of services,
 * priorities, outcomes, complaints and device faults, all seeded):
 *
 *   drive (the default): each hall is played by its customers and staff
 *   through the hall engine's own endpoints (tickets, counters, complaints,
 *   feedback, devices); the engine decides numbers, order and rules. The
 *   decisions are tools/hallsim/simdrive.c, pure and seeded; this file sends its
 *   requests, feeds the answers back, counts every refusal by reason, and
 *   retries a hall that does not answer with backoff (the decision module
 *   then reads the hall's state again before it goes on).
 *
 *   events: for halls that run another queue system, the model's own day is
 *   posted as events to POST /v1/events, stamped with the real time of
 *   posting, kept in order through a hall's failures and restarts. A post
 *   that times out after the hall committed it is posted again (the API has
 *   no idempotency key), so a hall that hangs may see a few events twice.
 *
 * In both, time runs --speed times faster than real from 09:00 of --day.
 * The hall engine keeps the real clock, so the waits and service times it
 * measures are the compressed ones (at 60x a 20-minute wait shows as 20 s).
 *
 * The night. A hall's day ends when it is empty and its back office is
 * done (complaints resolved, or HB_SD_OVERTIME_MS after closing), and the
 * next day begins at its 09:00 as soon as every hall's day has ended: the
 * simulated night is never waited for. What was left to wait for is the
 * evening: once every hall is closed (doors shut, counters closed, nobody
 * inside, no request out; hb_simdrive_closed), its remaining steps (a
 * complaint resolved at 19:40) lie far apart in simulated time, and at 60x
 * an hour of an empty evening is a minute of real time with nothing on the
 * floor. So from then on, whenever the next step is more than
 * NIGHT_GAP_MS away in real time, the simulated clock jumps to it (the
 * anchor moves; nothing is dropped or reordered), and the next day opens
 * seconds after the last hall closes. The halls keep the real clock, so
 * what they record is unchanged: they never see hallsim's simulated time,
 * only requests coming sooner. The events mode does the same after closing
 * time once every hall has posted what was due. Skipped time is counted
 * and logged, one line per night. */
#include "hallbus/config.h"
#include "hallbus/error.h"
#include "hallbus/httpc.h"
#include "sim.h"
#include "simdrive.h"
#include "hallbus/time.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_USAGE 2
#define HALLS_MAX 64
#define URL_MAX 256
#define PENDING_MAX 5000 /* due events held per hall while it does not take them */
#define POST_MAX 500     /* events in one POST (the hall takes up to 1,000) */
#define POST_TIMEOUT_MS 10000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define SUMMARY_EVERY_MS 10000
#define SLEEP_MAX_MS 1000
#define REFUSALS_LOGGED 5 /* refused batches logged per hall; later ones only counted */
#define REFUSAL_KEYS 48   /* distinct (request, status, reason) counted per hall */
#define REFUSAL_KEY_MAX 80
#define DRIVE_TIMEOUT_MS 5000
#define DRIVE_BURST 100  /* requests to one hall before the next hall's turn */
#define NIGHT_GAP_MS 500 /* closed halls: a wait longer than this for the next step is skipped */

/* The drive mode's figures, for summing days and printing them. A list
 * laid out by hand: clang-format's layout of an X-macro list is not stable
 * from one run to the next. */
// clang-format off
#define SD_FIELDS(X)                                                                              \
    X(arrivals) X(issued) X(refused_closed) X(refused_full) X(turned_away) X(missed)              \
    X(cancelled) X(called) X(recalled) X(no_shows) X(started) X(transferred) X(served)            \
    X(feedback) X(complaints_opened) X(complaints_acked) X(complaints_escalated)                  \
    X(complaints_resolved) X(device_reports) X(lunch_breaks) X(resyncs) X(adopted) X(vanished)    \
    X(surprises) X(given_up) X(requests) X(answered) X(unanswered)
// clang-format on

/* A kind of refusal and how often it came: "ticket 409 closed". */
typedef struct refusal {
    char key[REFUSAL_KEY_MAX];
    uint64_t count;
} refusal_t;

typedef struct hall {
    char url[URL_MAX];
    int index;
    hb_sim_hall_t *sim;
    json_t *next; /* the model's next event, not yet due; NULL when the day is over */
    int64_t next_ms;
    json_t *pending; /* due, not yet posted, in order */
    uint64_t posted, failed_posts, refused;
    bool failing;
    int64_t retry_at; /* monotonic ms */
    int64_t backoff_ms;
    /* Drive mode. */
    hb_simdrive_t *drive;
    bool day_over;
    hb_sd_stats_t past; /* the days before this one, summed */
    refusal_t refusals[REFUSAL_KEYS];
    int n_refusals;
    uint64_t refusals_total, refusals_other, malformed, reconnects;
} hall_t;

typedef struct cli {
    /* From the command line (s_options below). */
    hb_config_list_t hall_urls;
    double speed;        /* 0: as fast as the halls take it */
    int64_t duration_ms; /* 0: until stopped */
    uint64_t seed;
    struct tm day; /* the first simulated day (local) */
    bool dry_run;
    bool events;  /* --mode events */
    int64_t days; /* simulated days to run; 0: until stopped */
    char *token;
    /* Made from them. */
    char urls[HALLS_MAX][URL_MAX];
    int n_halls;
    hb_httpc_opts_t http; /* how requests go out (the token) */
} cli_t;

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* ------------------------------------------------------------ options ---- */

/* The values the settings table has no type for, each read by its row's
 * parse function (common/base/config.c calls them, with defaults too). */

static int s_parse_speed(const char *v, void *field, char *why, size_t whylen)
{
    if (strcmp(v, "max") == 0) {
        *(double *)field = 0;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double s = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !isfinite(s) || s <= 0 || s > 1e6) {
        snprintf(why, whylen, "give a number above 0 and up to 1000000, or 'max'");
        return HB_EINVAL;
    }
    *(double *)field = s;
    return 0;
}

/* A run's length as people give it: no unit is seconds (unlike the
 * daemons' durations, where a bare number is milliseconds). */
static int s_parse_duration(const char *v, void *field, char *why, size_t whylen)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    int64_t unit = 1000;
    if (end != v && strcmp(end, "ms") == 0)
        unit = 1;
    else if (end != v && strcmp(end, "m") == 0)
        unit = 60 * 1000;
    else if (end != v && strcmp(end, "h") == 0)
        unit = 3600 * 1000;
    else if (end != v && (strcmp(end, "s") == 0 || *end == '\0'))
        unit = 1000;
    else
        n = -1;
    if (errno != 0 || n <= 0 || n > INT64_MAX / unit / 2 || v[0] == '-' || v[0] == '+') {
        snprintf(why, whylen,
                 "give a positive whole number with ms, s, m or h (e.g. 10m; no "
                 "unit means seconds)");
        return HB_EINVAL;
    }
    *(int64_t *)field = n * unit;
    return 0;
}

static int s_parse_seed(const char *v, void *field, char *why, size_t whylen)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || v[0] == '+') {
        snprintf(why, whylen, "give a whole number from 0 to %llu", (unsigned long long)UINT64_MAX);
        return HB_EINVAL;
    }
    *(uint64_t *)field = n;
    return 0;
}

/* Local noon of `tm`'s date, normalised (noon: a day that starts or ends
 * with a clock change still has one). */
static time_t s_noon(struct tm *tm)
{
    tm->tm_hour = 12;
    tm->tm_min = tm->tm_sec = 0;
    tm->tm_isdst = -1;
    return mktime(tm);
}

static int s_parse_day(const char *v, void *field, char *why, size_t whylen)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (strcmp(v, "today") == 0) {
        time_t now = time(NULL);
        localtime_r(&now, &tm);
        s_noon(&tm);
        *(struct tm *)field = tm;
        return 0;
    }
    int y = 0, m = 0, d = 0;
    char rest = 0;
    bool ok = strlen(v) == 10;
    for (int i = 0; i < 10 && ok; i++)
        ok = i == 4 || i == 7 ? v[i] == '-' : v[i] >= '0' && v[i] <= '9';
    ok = ok && sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &rest) == 3 && y >= 1971 && m >= 1 &&
         m <= 12 && d >= 1 && d <= 31;
    if (ok) {
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        /* mktime normalises 2026-02-30 to March: refuse what moved. */
        ok = s_noon(&tm) != (time_t)-1 && tm.tm_year == y - 1900 && tm.tm_mon == m - 1 &&
             tm.tm_mday == d;
    }
    if (!ok) {
        snprintf(why, whylen, "give a date as YYYY-MM-DD, e.g. 2026-11-23");
        return HB_EINVAL;
    }
    *(struct tm *)field = tm;
    return 0;
}

static int s_parse_mode(const char *v, void *field, char *why, size_t whylen)
{
    if (strcmp(v, "drive") != 0 && strcmp(v, "events") != 0) {
        snprintf(why, whylen,
                 "give drive (customers and staff through the hall's endpoints) or "
                 "events (the model's events to POST /v1/events)");
        return HB_EINVAL;
    }
    *(bool *)field = strcmp(v, "events") == 0;
    return 0;
}

#define ROW(name_, type_, field, def, meta_, help_, ...)                                           \
    HB_CONF_ROW(cli_t, name_, type_, field, def, 0, 0, false, help_, .optional = true,             \
                .meta = meta_, __VA_ARGS__)

static const hb_config_def_t s_options[] = {
    HB_CONF_ROW(cli_t, "hall", HB_CONF_LIST, hall_urls, NULL, 0, HALLS_MAX, false,
                "a hall's API, e.g. http://127.0.0.1:8101", .optional = true, .meta = "URL"),
    ROW("mode", HB_CONF_CUSTOM, events, "drive", "M",
        "drive: play the hall through its endpoints; events: post the model's events",
        .parse = s_parse_mode),
    ROW("speed", HB_CONF_CUSTOM, speed, "60", "X", "simulated s per real s; max: unpaced",
        .parse = s_parse_speed),
    ROW("duration", HB_CONF_CUSTOM, duration_ms, NULL, "D",
        "stop after 90s, 10m, 2h... (no unit: seconds; default: when stopped)",
        .parse = s_parse_duration),
    ROW("seed", HB_CONF_CUSTOM, seed, "1", "N", "random seed: same seed, same days",
        .parse = s_parse_seed),
    ROW("day", HB_CONF_CUSTOM, day, "today", "YYYY-MM-DD", "the first simulated day",
        .parse = s_parse_day),
    HB_CONF_ROW(cli_t, "days", HB_CONF_INT, days, NULL, 1, 100000, false,
                "stop after N simulated days (default: when stopped)", .optional = true,
                .meta = "N"),
    ROW("dry-run", HB_CONF_BOOL, dry_run, "false", NULL,
        "events mode: print events on stdout (\"at\": simulated)"),
    ROW("token", HB_CONF_STRING, token, NULL, "TOKEN",
        "sent to the halls as 'Authorization: Bearer TOKEN'", .env = "HALLBUS_TOKEN"),
};
#define NOPTIONS (sizeof s_options / sizeof s_options[0])
#undef ROW

static const hb_config_cli_t s_cli = {
    .prog = "hallsim",
    .usage = "--hall URL [--hall URL ...] [--mode drive|events] [--speed X]\n"
             "               [--duration D] [--days N] [--seed N] [--day YYYY-MM-DD] [--dry-run]",
    .about = "Simulates an opening day (09:00-17:00 local, then the queue is cleared and the\n"
             "  counters close) per hall, then the next day, at --speed times real time; the\n"
             "  night is not waited for (once every hall is closed, the evening's empty time\n"
             "  is skipped, and the next day opens as soon as the last hall's day is over).\n"
             "  drive: customers take tickets at URL/v1/tickets, counters open, call, start,\n"
             "    transfer, complete and pause for lunch at URL/v1/counters/..., complaints are\n"
             "    opened, acknowledged and resolved, devices report faults; the hall engine\n"
             "    decides numbers and order. Refusals are counted by reason; a hall that does\n"
             "    not answer is retried with backoff and its state (GET /v1/hall) read again.\n"
             "  events: the model's events are posted to URL/v1/events as they come due,\n"
             "    stamped with the real time, for halls that run another queue system.\n\n"
             "  The hall keeps the real clock: at --speed 60 a 20-minute simulated wait is\n"
             "  measured by the hall as 20 s. With --dry-run (events mode), --hall may be left\n"
             "  out (one hall is simulated), a run without --duration ends after one day, and\n"
             "  with several halls each line carries \"hall\".\n"
             "  Example: hallsim --dry-run --speed max --seed 7 | head\n"
             "  Exit status: 0 done; 1 a hall refused events (events mode), a request was refused\n"
             "  as malformed (drive mode) or the model failed; 2 bad usage.",
    .max_args = 0,
};

/* What the table cannot say: the halls' addresses, and --dry-run against
 * --mode. Returns 0, or HB_EINVAL with `err`. */
static int s_check(cli_t *c, const hb_config_parsed_t *parsed, char *err, size_t errlen)
{
    bool mode_given = false;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strcmp(s_options[i].name, "mode") == 0)
            mode_given = parsed->source[i] == HB_CONF_FROM_ARGS;
    for (size_t i = 0; i < c->hall_urls.n; i++) {
        const char *v = c->hall_urls.items[i];
        if (v[0] == '\0' || strlen(v) >= URL_MAX) {
            hb_errf(err, errlen, "--hall: give a URL like http://127.0.0.1:8101 (under %d bytes)",
                    URL_MAX);
            return HB_EINVAL;
        }
        for (int k = 0; k < c->n_halls; k++) {
            if (strcmp(c->urls[k], v) == 0) {
                hb_errf(err, errlen,
                        "--hall %s is given twice (two simulations would mix in one hall)", v);
                return HB_EINVAL;
            }
        }
        snprintf(c->urls[c->n_halls++], URL_MAX, "%s", v);
    }
    if (c->dry_run && mode_given && !c->events) {
        hb_errf(err, errlen,
                "--dry-run prints the events mode's stream; the drive mode needs "
                "a hall to answer (leave out --mode drive)");
        return HB_EINVAL;
    }
    if (c->dry_run)
        c->events = true;
    if (c->n_halls == 0 && !c->dry_run) {
        hb_errf(err, errlen, "give at least one --hall URL (or --dry-run)");
        return HB_EINVAL;
    }
    if (c->n_halls == 0)
        snprintf(c->urls[c->n_halls++], URL_MAX, "%s", "hall-1");
    c->http.token = c->token;
    return 0;
}

/* ------------------------------------------------------------- driver ---- */

typedef struct run {
    const cli_t *cli;
    hall_t halls[HALLS_MAX];
    int n;
    struct tm day;   /* the simulated day (local noon) */
    int64_t open_ms; /* its 09:00, ms since the epoch */
    int64_t anchor;  /* monotonic ms at which the day's simulated clock was at open_ms */
    uint32_t jitter; /* xorshift state for backoff jitter */
    bool model_failed;
    int64_t night_skipped_ms; /* simulated time skipped since today's halls closed */
    int64_t night_from_mono;  /* when the first skip of this night happened (0: none yet) */
} run_t;

static int64_t s_open_ms(struct tm *day)
{
    struct tm tm = *day;
    tm.tm_hour = HB_SIM_OPEN_S / 3600;
    tm.tm_min = HB_SIM_OPEN_S / 60 % 60;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

/* Simulated time now, or INT64_MAX when unpaced (everything is due). */
static int64_t s_sim_now(const run_t *r, int64_t mono)
{
    if (r->cli->speed == 0)
        return INT64_MAX;
    return r->open_ms + (int64_t)((double)(mono - r->anchor) * r->cli->speed);
}

/* The monotonic ms at which simulated time `sim_ms` comes. */
static int64_t s_real_at(const run_t *r, int64_t sim_ms)
{
    if (r->cli->speed == 0)
        return r->anchor;
    return r->anchor + (int64_t)ceil((double)(sim_ms - r->open_ms) / r->cli->speed);
}

static void s_fetch(run_t *r, hall_t *h)
{
    json_t *ev = NULL;
    int rc = hb_sim_next(h->sim, &h->next_ms, &ev);
    h->next = ev;
    if (rc != 0 && rc != HB_ECLOSED) {
        fprintf(stderr, "hallsim: %s: the model stopped: %s; this hall's day ends here\n", h->url,
                hb_strerror(rc));
        r->model_failed = true;
    }
}

static int s_start_day(run_t *r, int64_t mono)
{
    r->open_ms = s_open_ms(&r->day);
    r->anchor = mono;
    for (int i = 0; i < r->n; i++) {
        hall_t *h = &r->halls[i];
        hb_sim_hall_destroy(&h->sim);
        h->sim = hb_sim_hall_new(r->cli->seed, h->index, r->open_ms);
        if (!h->sim)
            return HB_ENOMEM;
        s_fetch(r, h);
    }
    return 0;
}

/* Moves the events that are due into the hall's pending list, in order. */
static void s_pull_due(run_t *r, hall_t *h, int64_t sim_now)
{
    while (h->next && h->next_ms <= sim_now && json_array_size(h->pending) < PENDING_MAX) {
        if (json_array_append_new(h->pending, h->next) != 0) {
            json_decref(h->next); /* out of memory: this event is lost, the rest go on */
            fprintf(stderr, "hallsim: %s: out of memory; an event was dropped\n", h->url);
        }
        h->next = NULL;
        s_fetch(r, h);
    }
}

/* Keeps pending[from..] and drops the rest. */
static void s_drop_front(hall_t *h, size_t count)
{
    json_t *rest = json_array();
    size_t n = json_array_size(h->pending);
    for (size_t i = count; i < n && rest; i++)
        json_array_append(rest, json_array_get(h->pending, i));
    if (!rest) {
        for (size_t i = 0; i < count; i++)
            json_array_remove(h->pending, 0);
        return;
    }
    json_decref(h->pending);
    h->pending = rest;
}

static void s_print(run_t *r, hall_t *h)
{
    size_t n = json_array_size(h->pending);
    for (size_t i = 0; i < n; i++) {
        json_t *ev = json_array_get(h->pending, i);
        if (r->n > 1)
            json_object_set_new(ev, "hall", json_string(h->url));
        char *line = json_dumps(ev, JSON_COMPACT);
        if (line) {
            puts(line);
            free(line);
        }
    }
    h->posted += n;
    s_drop_front(h, n);
}

static uint32_t s_jitter(run_t *r)
{
    r->jitter ^= r->jitter << 13;
    r->jitter ^= r->jitter >> 17;
    r->jitter ^= r->jitter << 5;
    return r->jitter;
}

static void s_failed(run_t *r, hall_t *h, const char *why)
{
    h->failed_posts++;
    if (!h->failing && r->cli->events)
        fprintf(stderr,
                "hallsim: %s does not take events (%s); keeping them in order and "
                "retrying\n",
                h->url, why);
    else if (!h->failing)
        fprintf(stderr,
                "hallsim: %s does not answer (%s); retrying with backoff, then reading "
                "its state again\n",
                h->url, why);
    h->failing = true;
    h->backoff_ms = h->backoff_ms ? h->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (h->backoff_ms > BACKOFF_MAX_MS)
        h->backoff_ms = BACKOFF_MAX_MS;
    /* Up to a quarter more, so that halls restarted together are not hit together. */
    int64_t extra = (int64_t)(s_jitter(r) % (uint32_t)(h->backoff_ms / 4 + 1));
    h->retry_at = hb_mono_ms() + h->backoff_ms + extra;
}

/* The "reason" of a hall's refusal, or the start of its body. */
static void s_reason(const hb_httpc_resp_t *resp, char *out, size_t outlen)
{
    json_t *j = resp->body ? json_loads(resp->body, 0, NULL) : NULL;
    const char *reason = json_string_value(json_object_get(j, "reason"));
    snprintf(out, outlen, "HTTP %d: %.200s", resp->status,
             reason       ? reason
             : resp->body ? resp->body
                          : "");
    json_decref(j);
}

/* Posts the oldest pending events, up to POST_MAX, stamped with the real
 * time now. Returns true when the hall took them (so more may follow). */
static bool s_post(run_t *r, hall_t *h)
{
    size_t n = json_array_size(h->pending), take = n < POST_MAX ? n : POST_MAX;
    char at[HB_RFC3339_MAX];
    hb_time_format(hb_now_ms(), at);
    json_t *batch = json_array();
    for (size_t i = 0; i < take && batch; i++) {
        json_t *ev = json_array_get(h->pending, i);
        if (json_object_set_new(ev, "at", json_string(at)) != 0 ||
            json_array_append(batch, ev) != 0) {
            json_decref(batch);
            batch = NULL;
        }
    }
    char *body = batch ? json_dumps(batch, JSON_COMPACT) : NULL;
    json_decref(batch);
    if (!body) {
        s_failed(r, h, "out of memory");
        return false;
    }
    hb_httpc_resp_t resp = {0};
    char err[256] = "";
    hb_httpc_opts_t http = r->cli->http;
    http.timeout_ms = POST_TIMEOUT_MS;
    int rc = hb_httpc_call(h->url, "POST", "/v1/events", body, &http, &resp, err, sizeof err);
    free(body);
    bool took = false;
    char why[300];
    if (rc != 0) {
        snprintf(why, sizeof why, "%s", err[0] ? err : hb_strerror(rc));
        s_failed(r, h, why);
    } else if (resp.status >= 200 && resp.status < 300) {
        if (h->failing)
            fprintf(stderr, "hallsim: %s takes events again\n", h->url);
        h->failing = false;
        h->backoff_ms = 0;
        h->posted += take;
        s_drop_front(h, take);
        took = true;
    } else if (resp.status >= 400 && resp.status < 500 && resp.status != 408 &&
               resp.status != 429) {
        /* The hall says these events are wrong: sending them again cannot
         * help, and holding them would stop this hall for good. */
        s_reason(&resp, why, sizeof why);
        if (h->refused < REFUSALS_LOGGED)
            fprintf(stderr, "hallsim: %s refused %zu events, dropped (%s)\n", h->url, take, why);
        h->refused += take;
        s_drop_front(h, take);
        took = true;
    } else {
        s_reason(&resp, why, sizeof why);
        s_failed(r, h, why);
    }
    hb_httpc_resp_free(&resp);
    return took;
}

static void s_deliver(run_t *r, hall_t *h, int64_t mono)
{
    if (r->cli->dry_run) {
        s_print(r, h);
        return;
    }
    if (h->failing && mono < h->retry_at)
        return;
    while (json_array_size(h->pending) > 0 && !s_stop && s_post(r, h)) {
    }
}

/* A summary line's start: "hallsim: at 2026-03-02 10:15;" (the simulated
 * clock, "--:--" when unpaced). */
static void s_summary_head(const run_t *r, int64_t mono, const char *prefix)
{
    char clock[16] = "--:--";
    if (r->cli->speed > 0) {
        time_t t = (time_t)(s_sim_now(r, mono) / 1000);
        struct tm tm;
        if (localtime_r(&t, &tm))
            strftime(clock, sizeof clock, "%H:%M", &tm);
    }
    char day[16];
    strftime(day, sizeof day, "%Y-%m-%d", &r->day);
    fprintf(stderr, "hallsim: %s %s %s;", prefix, day, clock);
}

static void s_summary(const run_t *r, int64_t mono, const char *prefix)
{
    s_summary_head(r, mono, prefix);
    const char *verb = r->cli->dry_run ? "printed" : "posted";
    for (int i = 0; i < r->n; i++) {
        const hall_t *h = &r->halls[i];
        fprintf(stderr, " %s %s %" PRIu64 " errors %" PRIu64, h->url, verb, h->posted,
                h->failed_posts);
        if (json_array_size(h->pending) > 0)
            fprintf(stderr, " waiting %zu", json_array_size(h->pending));
        if (h->refused)
            fprintf(stderr, " refused %" PRIu64, h->refused);
        if (h->failing)
            fprintf(stderr, " (failing)");
        fputc(i + 1 < r->n ? ',' : '\n', stderr);
    }
}

static void s_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

/* --------------------------------------------------------- drive mode ---- */

static void s_stats_add(hb_sd_stats_t *sum, const hb_sd_stats_t *x)
{
#define SD_ADD(f) sum->f += x->f;
    SD_FIELDS(SD_ADD)
#undef SD_ADD
}

/* The hall's figures over every day so far, today's included. */
static void s_drive_totals(const hall_t *h, hb_sd_stats_t *out)
{
    *out = h->past;
    if (h->drive) {
        hb_sd_stats_t today;
        hb_simdrive_stats(h->drive, &today);
        s_stats_add(out, &today);
    }
}

static void s_count_refusal(hall_t *h, const hb_sd_request_t *req, int status, const json_t *body)
{
    const char *code = json_string_value(json_object_get(body, "error"));
    char key[REFUSAL_KEY_MAX];
    snprintf(key, sizeof key, "%s %d %.40s", hb_simdrive_kind_name(req->kind), status,
             code ? code : "(no reason)");
    h->refusals_total++;
    if (status == 400) {
        /* The hall found the request malformed: the driver's fault, worth
         * a line each time (they should never come). */
        const char *reason = json_string_value(json_object_get(body, "reason"));
        if (h->malformed++ < REFUSALS_LOGGED)
            fprintf(stderr, "hallsim: %s refused %s %s %s as malformed: %s\n", h->url, req->method,
                    req->path, req->body, reason ? reason : "");
    }
    for (int i = 0; i < h->n_refusals; i++) {
        if (strcmp(h->refusals[i].key, key) == 0) {
            h->refusals[i].count++;
            return;
        }
    }
    if (h->n_refusals == REFUSAL_KEYS) {
        h->refusals_other++;
        return;
    }
    snprintf(h->refusals[h->n_refusals].key, REFUSAL_KEY_MAX, "%s", key);
    h->refusals[h->n_refusals++].count = 1;
}

/* The first moment of the night: every hall closed (logged once). */
static void s_night_begins(run_t *r, int64_t mono)
{
    if (r->night_from_mono)
        return;
    r->night_from_mono = mono;
    char clock[16] = "--:--";
    time_t t = (time_t)(s_sim_now(r, mono) / 1000);
    struct tm tm;
    if (r->cli->speed > 0 && localtime_r(&t, &tm))
        strftime(clock, sizeof clock, "%H:%M", &tm);
    fprintf(stderr,
            "hallsim: %s every hall is closed; the evening's last steps run without "
            "waiting, then the next day opens\n",
            clock);
}

/* Moves simulated time on to `sim_ms` at once (the night: see the opening
 * comment). */
static void s_skip_to(run_t *r, int64_t mono, int64_t sim_ms)
{
    int64_t sim_now = s_sim_now(r, mono);
    if (sim_ms <= sim_now)
        return;
    r->night_skipped_ms += sim_ms - sim_now;
    r->anchor -= (int64_t)ceil((double)(sim_ms - sim_now) / r->cli->speed);
}

/* The night's account, when the next day opens. */
static void s_night_over(run_t *r, int64_t mono)
{
    char day[16];
    strftime(day, sizeof day, "%Y-%m-%d", &r->day);
    fprintf(stderr,
            "hallsim: %s opens at 09:00; the night took %.1f s (%" PRId64 " min of simulated "
            "evening skipped)\n",
            day, r->night_from_mono ? (double)(mono - r->night_from_mono) / 1000.0 : 0.0,
            r->night_skipped_ms / 60000);
    r->night_skipped_ms = 0;
    r->night_from_mono = 0;
}

/* Drive mode: once every hall is closed, the wait for the next step is
 * skipped when it is longer than NIGHT_GAP_MS. True when it skipped. */
static bool s_drive_night(run_t *r, int64_t mono)
{
    int64_t next = INT64_MAX;
    for (int i = 0; i < r->n; i++) {
        const hall_t *h = &r->halls[i];
        if (h->day_over)
            continue;
        if (h->failing || !hb_simdrive_closed(h->drive))
            return false;
        int64_t due = hb_simdrive_due(h->drive);
        next = due < next ? due : next;
    }
    s_night_begins(r, mono);
    if (r->cli->speed == 0 || next == INT64_MAX || s_real_at(r, next) - mono <= NIGHT_GAP_MS)
        return false;
    s_skip_to(r, mono, next);
    return true;
}

/* Events mode: after closing time, once every hall has taken what was
 * due, the wait for the model's next event is skipped when it is longer
 * than NIGHT_GAP_MS. True when it skipped. */
static bool s_events_night(run_t *r, int64_t mono, bool all_posted)
{
    int64_t close = r->open_ms + (int64_t)(HB_SIM_CLOSE_S - HB_SIM_OPEN_S) * 1000;
    if (r->cli->speed == 0 || r->cli->dry_run || !all_posted || s_sim_now(r, mono) < close)
        return false;
    int64_t next = INT64_MAX;
    for (int i = 0; i < r->n; i++) {
        const hall_t *h = &r->halls[i];
        if (h->failing)
            return false;
        if (h->next && h->next_ms < next)
            next = h->next_ms;
    }
    s_night_begins(r, mono);
    if (next == INT64_MAX || s_real_at(r, next) - mono <= NIGHT_GAP_MS)
        return false;
    s_skip_to(r, mono, next);
    return true;
}

/* Sends the hall its requests that are due, up to DRIVE_BURST; stops at
 * the first one that gets no answer (then the hall is retried later). */
static void s_drive_hall(run_t *r, hall_t *h, int64_t mono, int64_t sim_now)
{
    if (h->day_over)
        return;
    if (h->failing && mono < h->retry_at) {
        /* A hall silent past the overtime bound does not hold the other
         * halls' next day back until its next retry. */
        int64_t end =
            r->open_ms + (int64_t)(HB_SIM_CLOSE_S - HB_SIM_OPEN_S) * 1000 + HB_SD_OVERTIME_MS;
        if (r->cli->speed > 0 && sim_now >= end)
            h->day_over = true;
        return;
    }
    for (int n = 0; n < DRIVE_BURST && !s_stop; n++) {
        hb_sd_request_t req;
        /* Unpaced, each hall's clock is its own next step. */
        int64_t now = r->cli->speed == 0 ? hb_simdrive_due(h->drive) : sim_now;
        int rc = hb_simdrive_next(h->drive, now, &req);
        if (rc == HB_ECLOSED)
            h->day_over = true;
        if (rc == HB_EAGAIN && r->cli->speed == 0)
            continue; /* a step that needed no request; the next one is due at once */
        if (rc != 0)
            return;
        hb_httpc_resp_t resp = {0};
        char err[256] = "";
        hb_httpc_opts_t http = r->cli->http;
        http.timeout_ms = DRIVE_TIMEOUT_MS;
        rc = hb_httpc_call(h->url, req.method, req.path, req.body[0] ? req.body : NULL, &http,
                           &resp, err, sizeof err);
        if (rc != 0) {
            hb_simdrive_no_answer(h->drive);
            s_failed(r, h, err[0] ? err : hb_strerror(rc));
            hb_httpc_resp_free(&resp);
            return;
        }
        if (h->failing) {
            fprintf(stderr, "hallsim: %s answers again; reading its state before going on\n",
                    h->url);
            h->reconnects++;
        }
        h->failing = false;
        h->backoff_ms = 0;
        json_t *body = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
        if (resp.status < 200 || resp.status >= 300)
            s_count_refusal(h, &req, resp.status, body);
        hb_simdrive_answer(h->drive, resp.status, body);
        json_decref(body);
        hb_httpc_resp_free(&resp);
    }
}

static int s_drive_start_day(run_t *r, int64_t mono)
{
    r->open_ms = s_open_ms(&r->day);
    r->anchor = mono;
    for (int i = 0; i < r->n; i++) {
        hall_t *h = &r->halls[i];
        if (h->drive) {
            hb_sd_stats_t today;
            hb_simdrive_stats(h->drive, &today);
            s_stats_add(&h->past, &today);
        }
        hb_simdrive_destroy(&h->drive);
        h->drive = hb_simdrive_new(r->cli->seed, h->index, r->open_ms);
        if (!h->drive)
            return HB_ENOMEM;
        h->day_over = false;
    }
    return 0;
}

/* The pace of a run, s_run's and s_drive's alike: when it began, the
 * days it has had, when the last summary was said. */
typedef struct pace {
    int64_t start, last_summary;
    int days;
} pace_t;

typedef int (*start_day_fn)(run_t *r, int64_t mono);
typedef void (*summary_fn)(const run_t *r, int64_t mono, const char *prefix);

/* The first day begins: 0, or 1 (out of memory, said). */
static int s_pace_begin(run_t *r, pace_t *p, start_day_fn start_day)
{
    p->start = p->last_summary = hb_mono_ms();
    p->days = 1;
    if (start_day(r, p->start) != 0) {
        fprintf(stderr, "hallsim: out of memory\n");
        return 1;
    }
    return 0;
}

/* Whether the run goes on (no signal, the --duration not over), with the
 * present in *mono. */
static bool s_pace_on(const run_t *r, const pace_t *p, int64_t *mono)
{
    if (s_stop)
        return false;
    *mono = hb_mono_ms();
    return !(r->cli->duration_ms && *mono - p->start >= r->cli->duration_ms);
}

/* Every hall has had its day: the next one begins at its opening. 0, or 1
 * (out of memory, said). */
static int s_pace_next_day(run_t *r, pace_t *p, int64_t mono, start_day_fn start_day)
{
    r->day.tm_mday++;
    s_noon(&r->day);
    p->days++;
    s_night_over(r, mono);
    if (start_day(r, mono) != 0) {
        fprintf(stderr, "hallsim: out of memory\n");
        return 1;
    }
    return 0;
}

/* The summary, every SUMMARY_EVERY_MS. */
static void s_pace_summary(const run_t *r, pace_t *p, int64_t mono, summary_fn summary)
{
    if (mono - p->last_summary >= SUMMARY_EVERY_MS) {
        p->last_summary = mono;
        summary(r, mono, "at");
    }
}

/* Sleeps until `wake` (a hall's next step, a retry), the next summary or
 * the end of the --duration, whichever comes first. */
static void s_pace_sleep(const run_t *r, const pace_t *p, int64_t mono, int64_t wake)
{
    if (p->last_summary + SUMMARY_EVERY_MS < wake)
        wake = p->last_summary + SUMMARY_EVERY_MS;
    if (r->cli->duration_ms && p->start + r->cli->duration_ms < wake)
        wake = p->start + r->cli->duration_ms;
    s_sleep_ms(wake - mono);
}

static void s_drive_summary(const run_t *r, int64_t mono, const char *prefix)
{
    s_summary_head(r, mono, prefix);
    for (int i = 0; i < r->n; i++) {
        const hall_t *h = &r->halls[i];
        hb_sd_stats_t t;
        s_drive_totals(h, &t);
        fprintf(stderr,
                " %s tickets %" PRIu32 " served %" PRIu32 " left %" PRIu32 " no-shows %" PRIu32
                " complaints %" PRIu32 " refusals %" PRIu64 "%s%s",
                h->url, t.issued, t.served, t.cancelled, t.no_shows, t.complaints_opened,
                h->refusals_total, h->failing ? " (not answering)" : "",
                h->day_over ? " (day over)" : "");
        fputc(i + 1 < r->n ? ',' : '\n', stderr);
    }
}

/* The account of one hall at the end. */
static void s_drive_report(const hall_t *h)
{
    hb_sd_stats_t t;
    s_drive_totals(h, &t);
    fprintf(stderr,
            "hallsim: %s: customers %" PRIu32 " (tickets %" PRIu32 "; turned away: closed %" PRIu32
            ", full %" PRIu32 ", driver's bound %" PRIu32 "; missed while not answering %" PRIu32
            "), served %" PRIu32 ", no-shows %" PRIu32 " after %" PRIu32 " recalls, left %" PRIu32
            ", transferred %" PRIu32 ", scores %" PRIu32 "\n",
            h->url, t.arrivals, t.issued, t.refused_closed, t.refused_full, t.turned_away, t.missed,
            t.served, t.no_shows, t.recalled, t.cancelled, t.transferred, t.feedback);
    fprintf(stderr,
            "hallsim: %s: complaints %" PRIu32 " opened, %" PRIu32 " acknowledged, %" PRIu32
            " escalated, %" PRIu32 " resolved; lunch breaks %" PRIu32 "; device reports %" PRIu32
            "\n",
            h->url, t.complaints_opened, t.complaints_acked, t.complaints_escalated,
            t.complaints_resolved, t.lunch_breaks, t.device_reports);
    fprintf(stderr,
            "hallsim: %s: requests %" PRIu32 " (answered %" PRIu32 ", no answer %" PRIu32
            "), reconnects %" PRIu64 ", hall state read %" PRIu32 " times (tickets and complaints"
            " adopted %" PRIu32 ", vanished %" PRIu32 "; unforeseen answers %" PRIu32
            "; left to the hall %" PRIu32 ")\n",
            h->url, t.requests, t.answered, t.unanswered, h->reconnects, t.resyncs, t.adopted,
            t.vanished, t.surprises, t.given_up);
    fprintf(stderr, "hallsim: %s: refusals %" PRIu64 "%s", h->url, h->refusals_total,
            h->refusals_total ? ":" : "");
    for (int i = 0; i < h->n_refusals; i++)
        fprintf(stderr, "%s %s x%" PRIu64, i ? "," : "", h->refusals[i].key, h->refusals[i].count);
    if (h->refusals_other)
        fprintf(stderr, ", other %" PRIu64, h->refusals_other);
    fputc('\n', stderr);
}

static int s_drive(run_t *r)
{
    const cli_t *cli = r->cli;
    pace_t p;
    if (s_pace_begin(r, &p, s_drive_start_day) != 0)
        return 1;
    int64_t mono;
    while (s_pace_on(r, &p, &mono)) {
        int64_t sim_now = s_sim_now(r, mono);
        bool day_over = true;
        for (int i = 0; i < r->n && !s_stop; i++) {
            hall_t *h = &r->halls[i];
            s_drive_hall(r, h, mono, sim_now);
            day_over = day_over && h->day_over;
        }
        if (day_over) {
            if (cli->days && p.days >= cli->days)
                break;
            if (s_pace_next_day(r, &p, hb_mono_ms(), s_drive_start_day) != 0)
                return 1;
            continue;
        }
        mono = hb_mono_ms();
        if (s_drive_night(r, mono))
            continue;
        s_pace_summary(r, &p, mono, s_drive_summary);
        /* Sleep until a hall's next step comes due, a retry, the summary or
         * the end; unpaced, only a hall that is being retried waits. */
        int64_t wake = mono + SLEEP_MAX_MS;
        for (int i = 0; i < r->n; i++) {
            const hall_t *h = &r->halls[i];
            if (h->day_over)
                continue;
            if (h->failing) {
                wake = h->retry_at < wake ? h->retry_at : wake;
                continue;
            }
            int64_t due = hb_simdrive_due(h->drive);
            int64_t at = cli->speed == 0 ? (due == INT64_MAX ? wake : mono) : s_real_at(r, due);
            wake = at < wake ? at : wake;
        }
        s_pace_sleep(r, &p, mono, wake);
    }
    s_drive_summary(r, hb_mono_ms(), "stopped on");
    uint64_t malformed = 0;
    for (int i = 0; i < r->n; i++) {
        s_drive_report(&r->halls[i]);
        malformed += r->halls[i].malformed;
    }
    fprintf(stderr, "hallsim: drove %d hall%s for %.1f s over %d simulated day%s\n", r->n,
            r->n == 1 ? "" : "s", (double)(hb_mono_ms() - p.start) / 1000.0, p.days,
            p.days == 1 ? "" : "s");
    return malformed > 0 ? 1 : 0;
}

static int s_run(run_t *r)
{
    const cli_t *cli = r->cli;
    pace_t p;
    if (s_pace_begin(r, &p, s_start_day) != 0)
        return 1;
    int64_t mono;
    while (s_pace_on(r, &p, &mono)) {
        int64_t sim_now = s_sim_now(r, mono);
        bool day_over = true, all_posted = true;
        for (int i = 0; i < r->n && !s_stop; i++) {
            hall_t *h = &r->halls[i];
            s_pull_due(r, h, sim_now);
            s_deliver(r, h, mono);
            day_over = day_over && !h->next;
            all_posted = all_posted && json_array_size(h->pending) == 0;
        }
        if (day_over && cli->dry_run && !cli->duration_ms && !cli->days && all_posted)
            break;
        if (day_over && cli->days && p.days >= cli->days && all_posted)
            break;
        if (day_over) {
            if (s_pace_next_day(r, &p, mono, s_start_day) != 0)
                return 1;
            continue;
        }
        mono = hb_mono_ms();
        if (s_events_night(r, mono, all_posted))
            continue;
        s_pace_summary(r, &p, mono, s_summary);
        /* Sleep until the next event comes due, a retry, the summary or the end. */
        int64_t wake = mono + SLEEP_MAX_MS;
        for (int i = 0; i < r->n; i++) {
            const hall_t *h = &r->halls[i];
            bool blocked = json_array_size(h->pending) >= PENDING_MAX;
            if (h->next && !blocked && s_real_at(r, h->next_ms) < wake)
                wake = s_real_at(r, h->next_ms);
            if (json_array_size(h->pending) > 0 && h->failing && h->retry_at < wake)
                wake = h->retry_at;
        }
        s_pace_sleep(r, &p, mono, wake);
    }
    /* One last try for what is due, then the account. */
    for (int i = 0; i < r->n; i++) {
        hall_t *h = &r->halls[i];
        if (!h->failing)
            s_deliver(r, h, hb_mono_ms());
    }
    fflush(stdout);
    s_summary(r, hb_mono_ms(), "stopped on");
    uint64_t posted = 0, failed = 0, refused = 0, waiting = 0;
    for (int i = 0; i < r->n; i++) {
        posted += r->halls[i].posted;
        failed += r->halls[i].failed_posts;
        refused += r->halls[i].refused;
        waiting += json_array_size(r->halls[i].pending);
    }
    fprintf(stderr,
            "hallsim: %" PRIu64 " events %s to %d hall%s in %.1f s; %" PRIu64
            " failed posts; %" PRIu64 " refused; %" PRIu64 " due but not posted\n",
            posted, cli->dry_run ? "printed" : "posted", r->n, r->n == 1 ? "" : "s",
            (double)(hb_mono_ms() - p.start) / 1000.0, failed, refused, waiting);
    return refused > 0 || r->model_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    static cli_t cli;
    hb_config_parsed_t parsed;
    int rc = hb_config_args_main(s_options, NOPTIONS, &s_cli, &cli, argc, argv, &parsed);
    if (rc >= 0)
        return rc; /* --help, --version, or refused */
    char err[512] = "";
    if (s_check(&cli, &parsed, err, sizeof err) != 0) {
        fprintf(stderr, "hallsim: %s\n(hallsim --help lists the options)\n", err);
        hb_config_free(s_options, NOPTIONS, &cli);
        return EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: a signal ends the sleep */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    static run_t run;
    run.cli = &cli;
    run.n = cli.n_halls;
    run.day = cli.day;
    run.jitter = (uint32_t)(hb_now_ms() | 1);
    int status = 0;
    for (int i = 0; i < run.n; i++) {
        hall_t *h = &run.halls[i];
        snprintf(h->url, sizeof h->url, "%s", cli.urls[i]);
        h->index = i;
        h->pending = json_array();
        if (!h->pending) {
            fprintf(stderr, "hallsim: out of memory\n");
            status = 1;
        }
    }
    if (status == 0) {
        char day[16], speed[32] = "max";
        strftime(day, sizeof day, "%Y-%m-%d", &cli.day);
        if (cli.speed > 0)
            snprintf(speed, sizeof speed, "%g", cli.speed);
        fprintf(stderr, "hallsim: %d hall%s from %s 09:00, speed %s, seed %" PRIu64 ", %s mode%s\n",
                run.n, run.n == 1 ? "" : "s", day, speed, cli.seed, cli.events ? "events" : "drive",
                cli.dry_run ? ", dry run" : "");
        status = cli.events ? s_run(&run) : s_drive(&run);
    }
    for (int i = 0; i < run.n; i++) {
        json_decref(run.halls[i].next);
        json_decref(run.halls[i].pending);
        hb_sim_hall_destroy(&run.halls[i].sim);
        hb_simdrive_destroy(&run.halls[i].drive);
    }
    hb_config_free(s_options, NOPTIONS, &cli);
    return status;
}
