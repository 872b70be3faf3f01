/* Alerts that reach people, with real processes: hqd and a hall whose
 * customers wait past a tiny SLA with no counter open; a webhook receiver
 * in this test (a small HTTP server of its own: it can refuse, and hang)
 * and a mail server (Debian's python3-aiosmtpd, tests/support/
 * smtpsink.py). The receiver gets exactly the alerts the subscriptions
 * say, in Alertmanager's and WeCom's formats, once each, after refusing the
 * first two tries; a silenced alert goes nowhere; a subscription at the
 * province level gets what nobody acknowledged only after two escalation
 * periods, and not what was acknowledged; the mail server gets one message
 * to two people with its subject and body in Chinese and English, encoded
 * as MIME says; every attempt is listed. Then a webhook that accepts and
 * never answers holds a delivery while the hall's events keep being
 * acknowledged at their usual pace. */
#include "harness.h"

#include "hallbus/httpc.h"
#include "hallbus/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runner.h"
#include "world.h"

#define PYTHON "/usr/bin/python3"
#define SMTPSINK HB_SOURCE_DIR "/tests/support/smtpsink.py"
/* The escalation period: short, so that two of them and the quiet after
 * them take seconds; the diversion alert is acknowledged well within one. */
#define ESCALATE_S 2
#define HBT_STR(x) HBT_STR2(x)
#define HBT_STR2(x) #x

/* ------------------------------------------------- the webhook receiver */

#define RX_MAX 256
#define RX_HANGING 16

typedef struct rx_msg {
    char path[64];
    char *body;
    int64_t at_ms; /* wall clock, to compare with the alerts' times */
} rx_msg_t;

typedef struct rx {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    rx_msg_t msgs[RX_MAX];
    size_t n;
    int refuse_left; /* POSTs to /am answered 503 before the first 200 */
    int refused;
    int hanging[RX_HANGING];
    size_t n_hanging;
    volatile bool stop;
} rx_t;

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one request (head and Content-Length body) from `fd`. */
static bool s_read_request(int fd, char *path, size_t pathlen, char **body)
{
    static char buf[1 << 17];
    size_t n = 0;
    char *end = NULL;
    while (!end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0)
            return false;
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return false;
        n += (size_t)r;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end + 4 - buf);
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    size_t len = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    while (n < head + len) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return false;
        n += (size_t)r;
    }
    sscanf(buf, "POST %63s", path);
    (void)pathlen;
    *body = strndup(buf + head, len);
    return true;
}

static void s_answer(int fd, int status, const char *body)
{
    char out[512];
    int k = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, status == 200 ? "OK" : "Service Unavailable", strlen(body), body);
    ssize_t w = write(fd, out, (size_t)k);
    (void)w;
}

static void *s_rx_thread(void *arg)
{
    rx_t *rx = arg;
    while (!rx->stop) {
        struct pollfd p = {rx->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(rx->fd, NULL, NULL);
        if (c < 0)
            continue;
        char path[64] = "";
        char *body = NULL;
        if (!s_read_request(c, path, sizeof path, &body)) {
            close(c);
            continue;
        }
        pthread_mutex_lock(&rx->mu);
        if (strcmp(path, "/hang") == 0 && rx->n_hanging < RX_HANGING) {
            /* Accepted, read, never answered. */
            rx->hanging[rx->n_hanging++] = c;
            rx_msg_t *m = &rx->msgs[rx->n < RX_MAX ? rx->n++ : RX_MAX - 1];
            snprintf(m->path, sizeof m->path, "%s", path);
            m->body = body;
            m->at_ms = s_wall_ms();
            pthread_mutex_unlock(&rx->mu);
            continue;
        }
        if (strcmp(path, "/am") == 0 && rx->refuse_left > 0) {
            rx->refuse_left--;
            rx->refused++;
            pthread_mutex_unlock(&rx->mu);
            s_answer(c, 503, "{\"error\":\"try later\"}");
            free(body);
            close(c);
            continue;
        }
        rx_msg_t *m = &rx->msgs[rx->n < RX_MAX ? rx->n++ : RX_MAX - 1];
        snprintf(m->path, sizeof m->path, "%s", path);
        m->body = body;
        m->at_ms = s_wall_ms();
        pthread_mutex_unlock(&rx->mu);
        s_answer(c, 200, "{\"errcode\":0,\"errmsg\":\"ok\"}");
        close(c);
    }
    return NULL;
}

static void s_rx_start(rx_t *rx)
{
    memset(rx, 0, sizeof *rx);
    pthread_mutex_init(&rx->mu, NULL);
    rx->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(rx->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    rx->port = hbt_free_port();
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)rx->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(rx->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(rx->fd, 64), 0);
    assert_int_equal(pthread_create(&rx->thread, NULL, s_rx_thread, rx), 0);
}

static void s_rx_stop(rx_t *rx)
{
    rx->stop = true;
    pthread_join(rx->thread, NULL);
    close(rx->fd);
    for (size_t i = 0; i < rx->n_hanging; i++)
        close(rx->hanging[i]);
    for (size_t i = 0; i < rx->n; i++)
        free(rx->msgs[i].body);
    pthread_mutex_destroy(&rx->mu);
}

/* The bodies received on `path`, parsed (a new array). */
static json_t *s_rx_bodies(rx_t *rx, const char *path)
{
    json_t *a = json_array();
    pthread_mutex_lock(&rx->mu);
    for (size_t i = 0; i < rx->n; i++) {
        /* The path without its query (a robot's key). */
        if (strncmp(rx->msgs[i].path, path, strlen(path)) != 0 ||
            (rx->msgs[i].path[strlen(path)] != '\0' && rx->msgs[i].path[strlen(path)] != '?'))
            continue;
        json_t *o = json_loads(rx->msgs[i].body, 0, NULL);
        assert_non_null(o);
        json_object_set_new(o, "_at_ms", json_integer(rx->msgs[i].at_ms));
        json_array_append_new(a, o);
    }
    pthread_mutex_unlock(&rx->mu);
    return a;
}

/* ------------------------------------------------------------ the world */

static const hbt_world_spec_t s_world = {
    .tag = "notify", .halls = {"NT1"}, .engine = true, .start = true};
#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

typedef struct notify_test {
    rx_t rx;
    hbt_proc_t smtp;
    char mail_dir[400];
    int smtp_port;
} notify_test_t;

static notify_test_t s_t;

static void s_wait_listening(int port)
{
    int64_t deadline = hbt_now_ms() + 10000;
    while (hbt_now_ms() < deadline) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return;
        hbt_sleep_ms(50);
    }
    fail_msg("the mail server did not listen on %d (python3-aiosmtpd: deploy/install-deps.sh)",
             port);
}

static void s_restart_hq(hbt_world_t *w)
{
    hbt_hq_stop(&w->hq, SIGTERM);
    static const char *const args[] = {
        "--notify_retry_first=300ms", "--notify_escalate_after=" HBT_STR(ESCALATE_S) "s",
        "--alert_no_counter_grace=1s", "--notify_timeout=30s", "--external_url=http://hq.example"};
    w->hq.n_extra = 0;
    for (size_t i = 0; i < sizeof args / sizeof args[0]; i++)
        snprintf(w->hq.extra[w->hq.n_extra++], sizeof w->hq.extra[0], "%s", args[i]);
    snprintf(w->hq.extra[w->hq.n_extra++], sizeof w->hq.extra[0], "--smtp_url=smtp://127.0.0.1:%d",
             s_t.smtp_port);
    snprintf(w->hq.extra[w->hq.n_extra++], sizeof w->hq.extra[0], "--smtp_from=alerts@hq.example");
    hbt_hq_start(&w->hq);
}

static void s_sub(hbt_world_t *w, const char *doc)
{
    hbt_req_ok(w->hq.http, "POST", "/v1/notify/subscriptions", doc, 201);
}

/* The ids of the open alerts of `kind`. */
static int64_t s_alert_id(hbt_world_t *w, const char *kind)
{
    int64_t deadline = hbt_now_ms() + 15000;
    while (hbt_now_ms() < deadline) {
        json_t *a = hbt_get(w->hq.http, "/v1/alerts?state=open&limit=100");
        json_t *arr = json_object_get(a, "alerts");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *x = json_array_get(arr, i);
            if (strcmp(hbt_str(x, "kind"), kind) == 0) {
                int64_t id = hbt_int(x, "id");
                json_decref(a);
                return id;
            }
        }
        json_decref(a);
        hbt_sleep_ms(100);
    }
    fail_msg("no open %s alert", kind);
    return -1;
}

/* How many of `arr`'s webhook bodies carry alert `kind` (Alertmanager). */
static size_t s_count_am(json_t *arr, const char *kind)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *al = json_array_get(json_object_get(json_array_get(arr, i), "alerts"), 0);
        n += strcmp(hbt_str(json_object_get(al, "labels"), "alertname"), kind) == 0;
    }
    return n;
}

static json_t *s_mail(void)
{
    static char out[1 << 18];
    int rc = hbt_run_args(out, sizeof out, PYTHON, SMTPSINK, "read", s_t.mail_dir, NULL);
    if (rc != 0)
        fail_msg("smtpsink.py read: %d\n%s", rc, out);
    json_t *o = json_loads(out, 0, NULL);
    assert_non_null(o);
    return o;
}

/* The receiver, the mail server, hqd with this test's settings, the
 * organisation and a policy with a 2 s SLA and diversion above 2. */
static void s_prepare(hbt_world_t *w)
{
    s_rx_start(&s_t.rx);
    s_t.rx.refuse_left = 2;
    snprintf(s_t.mail_dir, sizeof s_t.mail_dir, "%s/mail", w->root);
    char mkd[500];
    snprintf(mkd, sizeof mkd, "%s", s_t.mail_dir);
    assert_int_equal(hbt_run_args(NULL, 0, "/bin/mkdir", "-p", mkd, NULL), 0);
    s_t.smtp_port = hbt_free_port();
    char port[16], log[500];
    snprintf(port, sizeof port, "%d", s_t.smtp_port);
    snprintf(log, sizeof log, "%s/smtp.log", w->root);
    char *const argv[] = {PYTHON, SMTPSINK, "serve", port, s_t.mail_dir, NULL};
    hbt_spawn(&s_t.smtp, log, argv);
    s_wait_listening(s_t.smtp_port);
    s_restart_hq(w);

    hbt_publish(w->hq.http,
                "{\"regions\":[{\"id\":\"CN\",\"name\":\"HQ\",\"level\":\"national\"},"
                "{\"id\":\"P1\",\"name\":\"East\",\"level\":\"province\",\"parent\":\"CN\"},"
                "{\"id\":\"C1\",\"name\":\"Harbour\",\"level\":\"city\",\"parent\":\"P1\"},"
                "{\"id\":\"C2\",\"name\":\"Lakeside\",\"level\":\"city\",\"parent\":\"P1\"}],"
                "\"halls\":[{\"id\":\"NT1\",\"city\":\"C1\",\"name\":\"人民广场营业厅\"}]}",
                HBT_POLICY_QUICK_ALERTS);
}

/* How many entries GET /v1/notify/WHAT lists as `token` (which must be
 * allowed to ask). */
static size_t s_listed(hbt_world_t *w, const char *token, const char *what)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/notify/%s", what);
    json_t *got = NULL;
    assert_int_equal(hbt_http_as(w->hq.http, token, NULL, "GET", path, NULL, &got), 200);
    size_t n = json_array_size(json_object_get(got, what));
    json_decref(got);
    return n;
}

HBT_TEST(test_alerts_reach_people)
{
    hbt_world_t *w = *state;
    s_prepare(w);
    /* Refusals of subscriptions and silences, each with its reason. */
    char url[128], doc[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s_t.rx.port);
    static const struct {
        const char *doc, *code, *why;
        int status;
    } bad[] = {
        {"{\"id\":\"x\",\"role\":\"boss\",\"scope\":\"network\",\"channels\":[{\"type\":\"hall_"
         "page\"}]}",
         "bad_request", "role: one of admin", 400},
        {"{\"id\":\"x\",\"role\":\"operator\",\"scope\":\"region/"
         "NOPE\",\"channels\":[{\"type\":\"hall_page\"}]}",
         "not_found", "no region NOPE", 404},
        {"{\"id\":\"x\",\"role\":\"operator\",\"scope\":\"network\",\"kinds\":[\"fire\"],"
         "\"channels\":[{\"type\":\"hall_page\"}]}",
         "bad_request", "unknown alert kind 'fire'", 400},
        {"{\"id\":\"x\",\"role\":\"operator\",\"scope\":\"network\",\"channels\":[{\"type\":"
         "\"wecom\",\"url\":\"ftp://x\"}]}",
         "bad_request", "channels[0].url", 400},
        {"{\"id\":\"x\",\"role\":\"operator\",\"scope\":\"network\",\"channels\":[{\"type\":"
         "\"email\",\"to\":[\"a@b\\r\\nBcc: c@d\"]}]}",
         "bad_request", "not an e-mail address", 400},
        {"{\"id\":\"x\",\"role\":\"operator\",\"scope\":\"network\",\"channels\":[]}",
         "bad_request", "channels: a list of 1 to 8", 400},
        {"{\"id\":\"x\",\"role\":\"operator\",\"scope\":\"network\",\"min_severity\":\"loud\","
         "\"channels\":[{\"type\":\"hall_page\"}]}",
         "bad_request", "min_severity", 400},
        {"{\"id\":\"x\",\"role\":\"operator\",\"scope\":\"network\",\"colour\":1,\"channels\":[{"
         "\"type\":\"hall_page\"}]}",
         "bad_request", "colour: unknown member", 400},
        {"{\"id\":\"a "
         "b\",\"role\":\"operator\",\"scope\":\"network\",\"channels\":[{\"type\":\"hall_page\"}]}",
         "bad_request", "id: 1 to 64", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        hbt_refused(w->hq.http, "POST", "/v1/notify/subscriptions", bad[i].doc, bad[i].status,
                    bad[i].code, bad[i].why);
    static const hbt_refusal_t bad_silences[] = {
        {"POST", "/v1/notify/silences",
         "{\"scope\":\"hall/NT1\",\"until\":\"2001-01-01T00:00:00Z\",\"reason\":\"x\"}", 400,
         "bad_request", "over already"},
        {"POST", "/v1/notify/silences",
         "{\"scope\":\"hall/NT1\",\"until\":\"2999-01-01T00:00:00Z\"}", 400, "bad_request",
         "reason: required"},
        {"POST", "/v1/alerts/999999/ack", "{}", 404, "not_found", "no alert"},
        {"POST", "/v1/alerts/abc/ack", "{}", 400, "bad_parameter", "alert"},
        {"DELETE", "/v1/notify/subscriptions/nope", NULL, 404, "not_found", "no subscription nope"},
        {"GET", "/v1/notify/deliveries?limit=0", NULL, 400, "bad_request",
         "limit must be 1 to 1000"},
    };
    HBT_REFUSED_ALL(w->hq.http, bad_silences);

    /* Who is told of what. */
    snprintf(doc, sizeof doc,
             "{\"id\":\"city-ops\",\"role\":\"operator\",\"scope\":\"region/C1\",\"kinds\":[\"*\"],"
             "\"channels\":[{\"type\":\"alertmanager\",\"url\":\"%s/am\"}]}",
             url);
    s_sub(w, doc);
    snprintf(
        doc, sizeof doc,
        "{\"id\":\"duty\",\"role\":\"operator\",\"scope\":\"hall/NT1\",\"kinds\":[\"wait_sla\"],"
        "\"channels\":[{\"type\":\"wecom\",\"url\":\"%s/wecom?key=SECRET\"},"
        "{\"type\":\"hall_page\"}]}",
        url);
    s_sub(w, doc);
    snprintf(doc, sizeof doc,
             "{\"id\":\"national\",\"role\":\"operator\",\"scope\":\"network\","
             "\"kinds\":[\"hall_offline\"],\"min_age_s\":1800,"
             "\"channels\":[{\"type\":\"dingtalk\",\"url\":\"%s/national\"}]}",
             url);
    s_sub(w, doc);
    snprintf(
        doc, sizeof doc,
        "{\"id\":\"province\",\"role\":\"operator\",\"scope\":\"region/P1\",\"escalated\":true,"
        "\"channels\":[{\"type\":\"dingtalk\",\"url\":\"%s/province\"}]}",
        url);
    s_sub(w, doc);
    s_sub(w,
          "{\"id\":\"city-mail\",\"role\":\"operator\",\"scope\":\"region/C1\","
          "\"kinds\":[\"wait_sla\"],\"min_severity\":\"warning\","
          "\"channels\":[{\"type\":\"email\",\"to\":[\"ops@example.cn\",\"duty@example.cn\"]}]}");
    hbt_refused(w->hq.http, "POST", "/v1/notify/subscriptions",
                "{\"id\":\"city-mail\",\"role\":\"operator\",\"scope\":\"network\","
                "\"channels\":[{\"type\":\"hall_page\"}]}",
                409, "exists", "exists already");
    json_t *subs = hbt_req(w->hq.http, "GET", "/v1/notify/subscriptions", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(subs, "subscriptions")), 5);
    json_decref(subs);
    /* The silence: no_counter_open of this hall goes to nobody. */
    json_t *sil = hbt_req(w->hq.http, "POST", "/v1/notify/silences",
                          "{\"scope\":\"hall/NT1\",\"kinds\":[\"no_counter_open\"],"
                          "\"until\":\"2999-01-01T00:00:00Z\",\"reason\":\"counters rebuilt\"}",
                          201);
    assert_string_equal(hbt_str(sil, "reason"), "counters rebuilt");
    json_decref(sil);

    /* Three customers wait: diversion A (at once), wait_sla A:normal (after
     * its 2 s), no_counter_open. */
    for (int i = 0; i < 3; i++)
        hbt_req_ok(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    int64_t div_id = s_alert_id(w, "diversion");
    /* Diversion is acknowledged at once (before wait_sla is even due, so
     * well within an escalation period): it escalates no further. */
    json_t *ack = hbt_req(w->hq.http, "POST", "/v1/alerts/0/ack", "{}", 400);
    json_decref(ack);
    char path[128];
    snprintf(path, sizeof path, "/v1/alerts/%lld/ack", (long long)div_id);
    hbt_refused(w->hq.http, "POST", path, "{\"by\":\"li.wei\"}", 400, "bad_request",
                "who acts is the signed-in caller");
    ack = hbt_req(w->hq.http, "POST", path, "{\"note\":\"on it\"}", 200);
    assert_string_equal(hbt_str(ack, "by"), "admin"); /* the caller */
    json_decref(ack);
    hbt_refused(w->hq.http, "POST", path, "{}", 409, "conflict", "acknowledged already");
    int64_t sla_id = s_alert_id(w, "wait_sla");
    int64_t nco_id = s_alert_id(w, "no_counter_open");

    /* Wait past two escalation periods and the retries. */
    int64_t deadline = hbt_now_ms() + 30000;
    json_t *am = NULL, *prov = NULL;
    while (hbt_now_ms() < deadline) {
        json_decref(am);
        json_decref(prov);
        am = s_rx_bodies(&s_t.rx, "/am");
        prov = s_rx_bodies(&s_t.rx, "/province");
        if (json_array_size(am) >= 3 && json_array_size(prov) >= 1)
            break;
        hbt_sleep_ms(200);
    }
    hbt_sleep_ms(3 * ESCALATE_S * 1000); /* anything more would have come by now */
    json_decref(am);
    json_decref(prov);
    am = s_rx_bodies(&s_t.rx, "/am");
    prov = s_rx_bodies(&s_t.rx, "/province");
    json_t *wecom = s_rx_bodies(&s_t.rx, "/wecom");
    json_t *national = s_rx_bodies(&s_t.rx, "/national");

    /* The alerts open at the hall (hall_not_open too: no counter ever
     * opened). */
    json_t *open_now = hbt_req(w->hq.http, "GET", "/v1/alerts?state=open&limit=100", NULL, 200);
    json_t *oarr = json_object_get(open_now, "alerts");
    size_t n_open = json_array_size(oarr);
    bool not_open = false;
    for (size_t i = 0; i < n_open; i++)
        not_open |= strcmp(hbt_str(json_array_get(oarr, i), "kind"), "hall_not_open") == 0;
    json_decref(open_now);

    /* The city's webhook: every open alert once, but no_counter_open
     * (silenced), after two refusals. */
    assert_int_equal(s_t.rx.refused, 2);
    for (size_t i = 0; i < json_array_size(am); i++) {
        json_t *al = json_array_get(json_object_get(json_array_get(am, i), "alerts"), 0);
        fprintf(stderr, "city webhook: %s %s\n",
                hbt_str(json_object_get(al, "labels"), "alertname"),
                hbt_str(json_object_get(al, "annotations"), "alert_id"));
    }
    assert_int_equal(json_array_size(am), n_open - 1);
    assert_int_equal(s_count_am(am, "hall_not_open"), not_open ? 1 : 0);
    assert_int_equal(s_count_am(am, "wait_sla"), 1);
    assert_int_equal(s_count_am(am, "diversion"), 1);
    assert_int_equal(s_count_am(am, "no_counter_open"), 0);
    for (size_t i = 0; i < json_array_size(am); i++) {
        json_t *b = json_array_get(am, i);
        assert_string_equal(hbt_str(b, "version"), "4");
        assert_string_equal(hbt_str(b, "status"), "firing");
        assert_string_equal(hbt_str(b, "receiver"), "city-ops");
        json_t *al = json_array_get(json_object_get(b, "alerts"), 0);
        json_t *labels = json_object_get(al, "labels");
        hbt_assert_strs(labels, "hall", "NT1", "city", "C1", "province", "P1", NULL);
        assert_string_equal(hbt_str(al, "endsAt"), "0001-01-01T00:00:00Z");
        assert_true(strlen(hbt_str(al, "startsAt")) > 0);
        hbt_assert_contains(hbt_str(al, "generatorURL"), "http://hq.example/");
        if (strcmp(hbt_str(labels, "alertname"), "wait_sla") == 0) {
            json_t *ann = json_object_get(al, "annotations");
            hbt_assert_strs(labels, "service", "A", "priority", "normal", "severity", "warning",
                            NULL);
            hbt_assert_strs(ann, "summary", "等候超过 2 秒（A 业务，普通）", "summary_en",
                            "waiting over 2 s (service A, normal)", "limit_s", "2", NULL);
        }
    }
    /* The duty manager's WeCom robot: wait_sla only, once, as markdown. */
    assert_int_equal(json_array_size(wecom), 1);
    json_t *wm = json_array_get(wecom, 0);
    assert_string_equal(hbt_str(wm, "msgtype"), "markdown");
    const char *md = hbt_str(json_object_get(wm, "markdown"), "content");
    hbt_assert_contains_all(md, "等候超时", "**人民广场营业厅** (NT1)",
                            "等候超过 2 秒（A 业务，普通）", "waiting over 2 s (service A, normal)",
                            NULL);
    /* Nothing for the national operator: the hall was never offline. */
    assert_int_equal(json_array_size(national), 0);
    /* The province: what nobody acknowledged (wait_sla, hall_not_open;
     * no_counter_open is silenced), only after two escalation periods; not
     * diversion, acknowledged at the hall's level. */
    assert_int_equal(json_array_size(prov), not_open ? 2 : 1);
    json_t *pm = NULL;
    for (size_t i = 0; i < json_array_size(prov); i++) {
        json_t *x = json_array_get(prov, i);
        const char *text = hbt_str(json_object_get(x, "markdown"), "text");
        assert_true(strstr(text, "diversion") == NULL);
        if (strstr(text, "wait_sla"))
            pm = x;
    }
    assert_non_null(pm);
    assert_string_equal(hbt_str(pm, "msgtype"), "markdown");
    const char *ptext = hbt_str(json_object_get(pm, "markdown"), "text");
    hbt_assert_contains(ptext, "等候超时");
    hbt_assert_contains(ptext, "省级 province");
    hbt_assert_contains(hbt_str(json_object_get(pm, "markdown"), "title"), "等候超时");
    snprintf(path, sizeof path, "/v1/alerts?state=history&hall=NT1&limit=50");
    json_t *hist = hbt_req(w->hq.http, "GET", path, NULL, 200);
    int64_t raised_ms = 0;
    json_t *harr = json_object_get(hist, "alerts");
    for (size_t i = 0; i < json_array_size(harr); i++)
        if (hbt_int(json_array_get(harr, i), "id") == sla_id) {
            int64_t ms;
            assert_int_equal(hb_time_parse(hbt_str(json_array_get(harr, i), "raised"), &ms), 0);
            raised_ms = ms;
        }
    json_decref(hist);
    assert_true(raised_ms > 0);
    int64_t took = hbt_int(pm, "_at_ms") - raised_ms;
    fprintf(stderr, "province told %lld ms after the raise (2 periods: %d ms)\n", (long long)took,
            2 * ESCALATE_S * 1000);
    assert_true(took >= 2 * ESCALATE_S * 1000 - 300);

    /* The mail: one message, to both, in both languages, encoded. */
    json_t *mail = NULL;
    deadline = hbt_now_ms() + 10000;
    while (hbt_now_ms() < deadline) {
        json_decref(mail);
        mail = s_mail();
        if (json_array_size(json_object_get(mail, "messages")) >= 1)
            break;
        hbt_sleep_ms(200);
    }
    json_t *msgs = json_object_get(mail, "messages");
    assert_int_equal(json_array_size(msgs), 1);
    json_t *m = json_array_get(msgs, 0);
    assert_true(json_is_true(json_object_get(m, "ascii_headers")));
    assert_string_equal(hbt_str(m, "encoding"), "base64");
    assert_string_equal(hbt_str(json_object_get(m, "envelope"), "from"), "alerts@hq.example");
    char *to = json_dumps(json_object_get(json_object_get(m, "envelope"), "to"), JSON_COMPACT);
    assert_string_equal(to, "[\"ops@example.cn\",\"duty@example.cn\"]");
    free(to);
    assert_string_equal(
        hbt_str(m, "subject"),
        "[警告] 等候超时 · 人民广场营业厅 (NT1) / [warning] Waiting over the limit · NT1");
    hbt_assert_contains(hbt_str(m, "body"), "等候超过 2 秒（A 业务，普通）");
    hbt_assert_contains(hbt_str(m, "body"), "营业厅：人民广场营业厅（NT1）");
    hbt_assert_contains(hbt_str(m, "body"), "waiting over 2 s (service A, normal)");
    json_decref(mail);

    /* Every attempt is listed: two refused and one made for the city's
     * webhook's first alert, the robot's key not shown. */
    json_t *del = hbt_req(w->hq.http, "GET", "/v1/notify/deliveries?limit=100", NULL, 200);
    json_t *darr = json_object_get(del, "deliveries");
    size_t am_fail = 0, am_ok = 0;
    for (size_t i = 0; i < json_array_size(darr); i++) {
        json_t *d = json_array_get(darr, i);
        assert_true(strstr(hbt_str(d, "target"), "SECRET") == NULL);
        assert_true(hbt_int(d, "alert") != nco_id);
        if (strcmp(hbt_str(d, "subscription"), "city-ops") != 0)
            continue;
        if (json_is_true(json_object_get(d, "ok")))
            am_ok++;
        else {
            am_fail++;
            hbt_assert_contains(hbt_str(d, "error"), "HTTP 503");
            assert_int_equal(hbt_int(d, "status"), 503);
        }
    }
    assert_int_equal(am_fail, 2);
    assert_int_equal(am_ok, n_open - 1);
    json_decref(del);
    /* ... and counted for Prometheus. */
    hb_httpc_resp_t mr = {0};
    char merr[256];
    (void)merr;
    assert_int_equal(hbt_http_raw(w->hq.http, "GET", "/metrics", NULL, &mr), 0);
    hbt_assert_contains_all(mr.body, "\nhallbus_hq_notify_failed_attempts_total 2\n",
                            "\nhallbus_hq_notify_given_up_total 0\n",
                            "\nhallbus_hq_notify_subscriptions 5\n", NULL);
    hb_httpc_resp_free(&mr);
    snprintf(path, sizeof path, "/v1/notify/deliveries?alert=%lld", (long long)sla_id);
    del = hbt_req(w->hq.http, "GET", path, NULL, 200);
    /* wait_sla: the webhook (maybe after refusals), WeCom, the hall page,
     * the mail, the province. */
    size_t ok = 0;
    darr = json_object_get(del, "deliveries");
    for (size_t i = 0; i < json_array_size(darr); i++)
        ok += json_is_true(json_object_get(json_array_get(darr, i), "ok"));
    assert_int_equal(ok, 5);
    json_decref(del);
    /* The hall's page shows the alert, worded both ways. */
    json_t *notices = hbt_req(w->hq.http, "GET", "/v1/notify/halls/NT1/notices", NULL, 200);
    json_t *narr = json_object_get(notices, "notices");
    assert_int_equal(json_array_size(narr), 1);
    assert_string_equal(hbt_str(json_array_get(narr, 0), "text_zh"),
                        "等候超过 2 秒（A 业务，普通）");
    json_decref(notices);
    /* ... and the hall has them, down its link, for its manager page. */
    json_t *hn = NULL;
    deadline = hbt_now_ms() + 10000;
    while (hbt_now_ms() < deadline) {
        json_decref(hn);
        hn = hbt_req(w->hall[0].http, "GET", "/v1/notices", NULL, 200);
        if (json_array_size(json_object_get(hn, "notices")) == 1)
            break;
        hbt_sleep_ms(100);
    }
    json_t *n0 = json_array_get(json_object_get(hn, "notices"), 0);
    assert_non_null(n0);
    assert_int_equal(hbt_int(n0, "alert"), sla_id);
    assert_string_equal(hbt_str(n0, "kind"), "wait_sla");
    assert_string_equal(hbt_str(n0, "text_zh"), "等候超过 2 秒（A 业务，普通）");
    assert_string_equal(hbt_str(n0, "text_en"), "waiting over 2 s (service A, normal)");
    assert_int_equal(hbt_int(json_object_get(n0, "params"), "limit_s"), 2);
    assert_true(json_is_false(json_object_get(n0, "acknowledged")));
    json_decref(hn);

    /* Another city's operator: not the alerts, silences, subscriptions or
     * deliveries of this hall; and no operator manages subscriptions. */
    char ops2[64], ops1[64];
    hbt_hq_user(&w->hq, "ops2", ops2, "--role", "operator", "--scope", "C2", NULL);
    hbt_hq_user(&w->hq, "ops1", ops1, "--role", "operator", "--scope", "C1", NULL);
    json_t *got = NULL;
    snprintf(path, sizeof path, "/v1/alerts/%lld/ack", (long long)sla_id);
    assert_int_equal(hbt_http_as(w->hq.http, ops2, NULL, "POST", path, "{}", &got), 403);
    hbt_assert_contains(hbt_str(got, "reason"), "NT1");
    json_decref(got);
    assert_int_equal(hbt_http_as(w->hq.http, ops2, NULL, "POST", "/v1/notify/silences",
                                 "{\"scope\":\"hall/NT1\",\"until\":\"2999-01-01T00:00:00Z\","
                                 "\"reason\":\"x\"}",
                                 &got),
                     403);
    json_decref(got);
    assert_int_equal(s_listed(w, ops2, "subscriptions"), 0);
    assert_int_equal(s_listed(w, ops2, "deliveries"), 0);
    assert_int_equal(s_listed(w, ops2, "silences"), 0);
    assert_int_equal(hbt_http_as(w->hq.http, ops1, NULL, "POST", "/v1/notify/subscriptions",
                                 "{\"id\":\"mine\",\"role\":\"operator\",\"scope\":\"region/C1\","
                                 "\"channels\":[{\"type\":\"hall_page\"}]}",
                                 &got),
                     403);
    hbt_assert_contains(hbt_str(got, "reason"), "alerts.subscribe");
    json_decref(got);
    /* This city's operator sees its city's and its hall's subscriptions
     * (not the province's or the network's) and the hall's silence. */
    assert_int_equal(s_listed(w, ops1, "subscriptions"), 3);
    assert_int_equal(s_listed(w, ops1, "silences"), 1);

    /* The same through hallctl. */
    static char out[1 << 16];
    const char *hallctl = HB_BIN_DIR "/tools/hallctl";
    const char *tok = hbt_http_token(w->hq.http);
    assert_int_equal(hbt_run_args(out, sizeof out, hallctl, "subscription-list", "--hq", w->hq.http,
                                  "--token", tok, NULL),
                     0);
    hbt_assert_contains_all(out, "province", "region/P1", "escalated only", NULL);
    assert_int_equal(hbt_run_args(out, sizeof out, hallctl, "silence-list", "--hq", w->hq.http,
                                  "--token", tok, NULL),
                     0);
    hbt_assert_contains(out, "counters rebuilt");
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)sla_id);
    assert_int_equal(hbt_run_args(out, sizeof out, hallctl, "deliveries", "--alert", id, "--hq",
                                  w->hq.http, "--token", tok, NULL),
                     0);
    hbt_assert_contains(out, "city-ops");
    assert_int_equal(hbt_run_args(out, sizeof out, hallctl, "alert-ack", id, "--note", "mine",
                                  "--hq", w->hq.http, "--token", ops1, NULL),
                     0);
    hbt_assert_contains(out, "acknowledged by ops1");
    /* The hall's page learns it. */
    deadline = hbt_now_ms() + 10000;
    bool acked = false;
    while (!acked && hbt_now_ms() < deadline) {
        hn = hbt_req(w->hall[0].http, "GET", "/v1/notices", NULL, 200);
        acked = json_is_true(
            json_object_get(json_array_get(json_object_get(hn, "notices"), 0), "acknowledged"));
        json_decref(hn);
        if (!acked)
            hbt_sleep_ms(100);
    }
    assert_true(acked);
    assert_int_equal(hbt_run_args(out, sizeof out, hallctl, "alert-ack", id, "--hq", w->hq.http,
                                  "--token", tok, NULL),
                     1);
    hbt_assert_contains(out, "acknowledged already");
    assert_int_equal(hbt_run_args(out, sizeof out, hallctl, "alert-silence", id, "--reason", "r",
                                  "--hq", w->hq.http, "--token", tok, NULL),
                     2);

    /* After a restart nothing is sent twice. */
    size_t before = s_t.rx.n;
    hbt_hq_stop(&w->hq, SIGKILL);
    hbt_hq_start(&w->hq);
    hbt_sleep_ms(3000);
    for (size_t i = before; i < s_t.rx.n; i++)
        fprintf(stderr, "after the restart: %s %.300s\n", s_t.rx.msgs[i].path, s_t.rx.msgs[i].body);
    assert_int_equal(s_t.rx.n, before);
    json_decref(am);
    json_decref(prov);
    json_decref(wecom);
    json_decref(national);
    s_rx_stop(&s_t.rx);
    hbt_kill(&s_t.smtp, SIGTERM);
}

HBT_TEST(test_dead_webhook_slows_nothing)
{
    hbt_world_t *w = *state;
    char doc[1024];
    s_prepare(w);
    for (int i = 0; i < 3; i++)
        hbt_req_ok(w->hall[0].http, "POST", "/v1/tickets", "{\"service\":\"A\"}", 201);
    s_alert_id(w, "wait_sla");
    /* The open alerts go to a webhook that takes the request and never
     * answers (30 s timeout). */
    snprintf(doc, sizeof doc,
             "{\"id\":\"dead\",\"role\":\"operator\",\"scope\":\"network\","
             "\"kinds\":[\"wait_sla\"],"
             "\"channels\":[{\"type\":\"alertmanager\",\"url\":\"http://127.0.0.1:%d/hang\"}]}",
             s_t.rx.port);
    s_sub(w, doc);
    int64_t deadline = hbt_now_ms() + 15000;
    while (hbt_now_ms() < deadline && s_t.rx.n_hanging == 0)
        hbt_sleep_ms(100);
    assert_int_equal(s_t.rx.n_hanging, 1);

    /* While the delivery hangs, the hall's events are stored and
     * acknowledged as fast as ever. */
    int64_t t0 = hbt_now_ms();
    for (int round = 0; round < 5; round++) {
        hbt_hall_post(&w->hall[0], 200, round);
        assert_true(hbt_wait_synced(&w->hq, &w->hall[0], 5000));
    }
    int64_t took = hbt_now_ms() - t0;
    fprintf(stderr, "1,000 events stored and acknowledged in %lld ms with a hung webhook\n",
            (long long)took);
    assert_true(took < 10000);
    /* ... and the hung attempt is still under way: nothing recorded for it. */
    json_t *del = hbt_req(w->hq.http, "GET", "/v1/notify/deliveries?limit=1000", NULL, 200);
    json_t *darr = json_object_get(del, "deliveries");
    for (size_t i = 0; i < json_array_size(darr); i++)
        assert_true(strcmp(hbt_str(json_array_get(darr, i), "subscription"), "dead") != 0);
    json_decref(del);
    /* Other deliveries still go: a new subscription is served meanwhile. */
    snprintf(doc, sizeof doc,
             "{\"id\":\"late\",\"role\":\"operator\",\"scope\":\"hall/NT1\","
             "\"kinds\":[\"wait_sla\"],"
             "\"channels\":[{\"type\":\"alertmanager\",\"url\":\"http://127.0.0.1:%d/late\"}]}",
             s_t.rx.port);
    s_sub(w, doc);
    deadline = hbt_now_ms() + 10000;
    json_t *late = NULL;
    while (hbt_now_ms() < deadline) {
        json_decref(late);
        late = s_rx_bodies(&s_t.rx, "/late");
        if (json_array_size(late) == 1)
            break;
        hbt_sleep_ms(100);
    }
    assert_int_equal(json_array_size(late), 1);
    json_decref(late);
    /* hqd stops at once, the hung attempt aborted. */
    int64_t s0 = hbt_now_ms();
    hbt_hq_stop(&w->hq, SIGTERM);
    fprintf(stderr, "hqd stopped in %lld ms\n", (long long)(hbt_now_ms() - s0));
    assert_true(hbt_now_ms() - s0 < 5000);
    hbt_hq_start(&w->hq);
    s_rx_stop(&s_t.rx);
    hbt_kill(&s_t.smtp, SIGTERM);
}
