/* Integration-test harness: real hqd, branchd and hallctl processes on
 * loopback with generated folders and free ports, killed for real, plus a
 * raw CURVE client that speaks the link protocol frame by frame and a TCP
 * proxy that can cut or freeze a connection. Tests talk to the daemons only
 * from outside: HTTP APIs, the wire, signals. */
#ifndef HB_TEST_HARNESS_H
#define HB_TEST_HARNESS_H

#include "hallbus.pb-c.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* ---- basics */
/* A fresh folder under /tmp, removed by hbt_rmdir. Aborts the test on error. */
void hbt_mkdtemp(char *out, size_t len, const char *tag);
void hbt_rmdir(const char *dir);
/* A fresh folder for each test of a file:
 *   static hbt_tmpdir_t s_tmp = {.tag = "tag"};
 *   #define HBT_FIXTURE hbt_tmpdir_setup, hbt_tmpdir_teardown, &s_tmp
 * makes s_tmp.path before each test and removes it after. */
typedef struct hbt_tmpdir {
    const char *tag;
    char path[256];
} hbt_tmpdir_t;
int hbt_tmpdir_setup(void **state);
int hbt_tmpdir_teardown(void **state);
/* A unit test's fixture of `size` bytes, zeroed, whose first member is
 * `char dir[HBT_FIXTURE_DIR]`: that folder made fresh (hbt_mkdtemp with
 * `tag`). hbt_fixture_free removes the folder and frees the fixture; the
 * test closes what it opened in the folder first. */
#define HBT_FIXTURE_DIR 256
void *hbt_fixture_new(size_t size, const char *tag);
void hbt_fixture_free(void *fixture);
/* hbt_tmpdir_teardown for tests of the systemd protocol: the variables a
 * test set for it (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID) unset too. */
int hbt_tmpdir_notify_teardown(void **state);
/* `n` times `c` as a string (free() it). */
char *hbt_repeat(char c, size_t n);
/* How many times `needle` stands in `hay` (overlapping ones too). */
int hbt_count(const char *hay, const char *needle);
/* Sends this process's standard error to the file `path` (made afresh)
 * until hbt_stderr_back: the log of a daemon run in the test's process, to
 * read after. Returns the descriptor hbt_stderr_back puts back. */
int hbt_stderr_to(const char *path);
void hbt_stderr_back(int saved);
/* A xorshift step of `*rng` (never 0): a number below `n`, the same series
 * for the same seed on every run. */
uint32_t hbt_rand(uint64_t *rng, uint32_t n);
/* A TCP port that was free a moment ago on 127.0.0.1, below the kernel's
 * ephemeral range so that no outgoing connection can take it meanwhile. */
int hbt_free_port(void);
void hbt_sleep_ms(int ms);
int64_t hbt_now_ms(void); /* monotonic */
int64_t hbt_now_us(void); /* monotonic */

/* Fails the test, showing both, when the text `hay` lacks `needle`. */
#define hbt_assert_contains(hay, needle)                                                           \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                           \
    } while (0)

/* Whether a line of the file at `path` (a process's log) contains
 * `needle`; false when the file cannot be read. */
bool hbt_log_has(const char *path, const char *needle);
/* Waits until hbt_log_has(path, needle); false after `ms`. */
bool hbt_wait_log(const char *path, const char *needle, int ms);
/* The file at `path` as text in `out` (at most len - 1 bytes; "" when it
 * cannot be read). */
void hbt_read_file(const char *path, char *out, size_t len);
/* Writes `text` as the whole file at `path` (made, or emptied first); a
 * failure to open, write or close it fails the test. */
void hbt_write_file(const char *path, const char *text);

/* hbt_assert_contains for each of the needles that follow, up to a NULL. */
void hbt_assert_contains_all(const char *hay, ...);

/* ---- processes */
typedef struct hbt_proc {
    pid_t pid;
    char log[512];
} hbt_proc_t;
/* Starts argv[0] with stdout and stderr appended to `log`. */
void hbt_spawn(hbt_proc_t *p, const char *log, char *const argv[]);
/* Sends `sig` and waits for the process to end (SIGKILL after 10 s). */
void hbt_kill(hbt_proc_t *p, int sig);
bool hbt_alive(hbt_proc_t *p);
/* Runs a command to completion; returns its exit code, output in `out`. */
int hbt_run(char *const argv[], char *out, size_t outlen);
/* The same with the arguments after `bin` listed, ending with NULL. */
int hbt_run_args(char *out, size_t outlen, const char *bin, ...);
/* An argument vector: `prog`, then the strings of `ap` up to a NULL, then
 * NULL (`cap` slots in all, or the test fails); returns argc. */
int hbt_vargv(char **argv, int cap, const char *prog, va_list ap);

/* ---- HTTP
 *
 * Every request to a base URL carries the bearer token registered for it
 * (hbt_http_set_token; hbt_hq_start registers an admin's for its hqd), so
 * that tests written before access control ask as before. */
/* Registers `token` (NULL or "": none) for requests to `base`. */
void hbt_http_set_token(const char *base, const char *token);
/* The token registered for `base`, or NULL. */
const char *hbt_http_token(const char *base);
/* GET/POST; returns the HTTP status (or -1), JSON body in *out (may be NULL). */
int hbt_http(const char *base, const char *method, const char *path, const char *body,
             json_t **out);
/* hbt_http with "Authorization: Bearer TOKEN" instead of the registered
 * token (none when `token` is NULL), and https:// bases trusting `cacert`
 * (may be NULL). */
int hbt_http_as(const char *base, const char *token, const char *cacert, const char *method,
                const char *path, const char *body, json_t **out);
/* The raw answer (a text body: CSV, /metrics) with the registered token;
 * 0 or the client's error. Free with hb_httpc_resp_free. */
struct hb_httpc_resp;
int hbt_http_raw(const char *base, const char *method, const char *path, const char *body,
                 struct hb_httpc_resp *resp);
/* GET path and return the JSON body if the status is 200, else NULL. */
json_t *hbt_get(const char *base, const char *path);
/* A TCP connection to the host and port of `base` (http://HOST:PORT) that
 * waits at most 5 s for each read; -1 when it cannot connect. */
int hbt_http_connect(const char *base);
/* Sends `raw`, a whole request as bytes (end its head with "Connection:
 * close"), to the host and port of `base` (http://HOST:PORT) and reads the
 * answer until the server closes. Returns the status (or -1) and the whole
 * answer, head and body, in `out`: for what the client refuses to send (a
 * wrong Host, a forged Cookie) and what it does not show (Set-Cookie). */
int hbt_http_send_raw(const char *base, const char *raw, char *out, size_t outlen);
/* Header `name` (any case) of a raw answer into `out`; false when none. */
bool hbt_http_answer_header(const char *answer, const char *name, char *out, size_t outlen);
/* The body of a raw answer (after the blank line), or "". */
const char *hbt_http_answer_body(const char *answer);
/* A raw answer taken apart for the tests that read headers as sent: its
 * head (status line and headers, up to the blank line) lower-cased into
 * `head`; returns its body. Fails the test when the answer has no blank
 * line or its head does not fit. */
const char *hbt_http_answer_head(const char *answer, char *head, size_t headlen);
/* Integer member of a JSON object (-1 when absent). */
int64_t hbt_int(const json_t *obj, const char *name);
/* The value of one sample of a Prometheus text exposition, `sample` as
 * written ("name{labels}"), or NAN when no line has it. */
double hbt_sample(const char *text, const char *sample);

/* ---- the system */
typedef struct hbt_hq {
    char root[256];
    char keys[300];
    char data[300];
    char endpoint[64]; /* tcp://127.0.0.1:PORT */
    char http[64];     /* http://127.0.0.1:PORT */
    char http_addr[64];
    hbt_proc_t proc;
    char extra[8][512]; /* extra "--name value" arguments, in pairs */
    int n_extra;
    char token[64];    /* an admin's API token, made before the first start */
    char reviewer[64]; /* a reviewer's token (hbt_campaign_publish), "" before */
    /* Another release's hqd and the hallctl that enrols halls at it (the
     * upgrade test); "" runs this build's. */
    char bin[512];
    char hallctl[512];
} hbt_hq_t;

typedef struct hbt_hall {
    char id[33];
    char dir[320]; /* keys + config (hallctl enroll --out) */
    char data[340];
    char http[64];
    char http_addr[64];
    char hq_endpoint[64]; /* what this hall connects to (HQ or a proxy) */
    hbt_proc_t proc;
    char extra[12][512];
    int n_extra;
    /* Every request needs a device's token: hbt_hall_start leaves out the
     * --local_trust it gives every other hall (so that tests written
     * before access control talk to it as hallctl on the hall machine). */
    bool tokens_only;
    /* With --tls_cert in `extra`: the https:// base in `http` is trusted
     * with this PEM file while waiting for the hall to come up. */
    char cacert[320];
    /* A device token (a manager's) the harness sends with its own reads of
     * the hall (waiting for it, hbt_wait_synced); "" sends none. */
    char token[64];
    /* Another release's branchd (set after hbt_hall_enroll); "" runs this
     * build's. A release before access control knows no --local_trust:
     * give it tokens_only, and its API answers without a token all the same. */
    char bin[512];
} hbt_hall_t;

/* Sets up folders and ports (nothing started). */
void hbt_hq_init(hbt_hq_t *hq, const char *root);
/* Starts hqd and waits until its API answers. Before the first start it
 * enrols "admin" (hqd users add) and registers their token for hq->http. */
void hbt_hq_start(hbt_hq_t *hq);
/* Enrols a person with `hqd users add NAME ARGS... --data` (ARGS: "--role",
 * "marketer", "--scope", "C001", ..., ending with NULL; works while hqd
 * runs) and writes their first token into `token` (64 bytes). */
void hbt_hq_user(hbt_hq_t *hq, const char *name, char *token, ...);
/* Sets a person's password (hqd users passwd, the password on stdin). */
void hbt_hq_password(hbt_hq_t *hq, const char *name, const char *password);
/* Campaign document `doc` (with id `id`) posted and submitted by the
 * harness's admin, then approved and published by a reviewer of its own
 * ("rev", added on first use): four eyes, each with its own token. */
void hbt_campaign_publish(hbt_hq_t *hq, const char *doc, const char *id);
/* Signs in through POST /v1/login; returns the status, and on 200 the
 * session cookie's value (`cookie`, 64 bytes) and its CSRF token (`csrf`,
 * 64 bytes). */
int hbt_hq_login(hbt_hq_t *hq, const char *name, const char *password, char *cookie, char *csrf);
void hbt_hq_stop(hbt_hq_t *hq, int sig);
/* The hall's folders and ports under HQ's root, as the enrolments below
 * set them, without enrolling it. */
void hbt_hall_init(const hbt_hq_t *hq, hbt_hall_t *hall, const char *id);
/* Enrols a hall as an operator does (HQ running, the region a city of its
 * organisation): branchd enroll makes the pair and request, hallctl enroll
 * approve signs its certificate (with an expiry), hallctl enroll install
 * puts it in the hall's folder. */
void hbt_hall_enroll_signed(hbt_hq_t *hq, hbt_hall_t *hall, const char *id, const char *region);
/* Enrols a hall with hallctl (HQ's key pair must exist: start HQ first). */
void hbt_hall_enroll(hbt_hq_t *hq, hbt_hall_t *hall, const char *id);
/* Starts branchd with --local_trust unless hall->tokens_only, and waits
 * until its API answers (with 401, when tokens only). */
void hbt_hall_start(hbt_hall_t *hall);
/* hbt_hall_start for `n` halls at once: all are started, then each is
 * waited for (a world of many halls starts in the time of a few). */
void hbt_halls_start(hbt_hall_t *halls, size_t n);
/* Opening hours of every day round the clock: the member of a policy
 * document, for tests that write a policy with more in it. */
#define HBT_HOURS_ALWAYS_OPEN                                                                      \
    "\"opening_hours\":{\"mon\":[\"00:00-24:00\"],\"tue\":[\"00:00-24:00\"],"                      \
    "\"wed\":[\"00:00-24:00\"],\"thu\":[\"00:00-24:00\"],\"fri\":[\"00:00-24:00\"],"               \
    "\"sat\":[\"00:00-24:00\"],\"sun\":[\"00:00-24:00\"]}"
/* A policy open every day round the clock in the time zone `tz` (a string
 * literal). */
#define HBT_POLICY_OPEN_IN(tz) "{\"timezone\":\"" tz "\"," HBT_HOURS_ALWAYS_OPEN "}"
/* The same in UTC: tests that take tickets at whatever hour CI runs use it. */
#define HBT_POLICY_ALWAYS_OPEN HBT_POLICY_OPEN_IN("UTC")
/* The start of a policy open round the clock in UTC that goes on with
 * more members and the closing brace:
 *   HBT_POLICY_OPEN_AND "\"sla\":{\"max_wait_s\":{\"A:*\":2}}}" */
#define HBT_POLICY_OPEN_AND "{\"timezone\":\"UTC\"," HBT_HOURS_ALWAYS_OPEN ","
/* The services every engine test hall offers. */
#define HBT_SERVICES "A:A:10m:Cash and deposits; B:B:20m:Loans; C:C:5m:Cards"
/* Adds the option `name` and its value (printf's `fmt` and what follows)
 * to the hall's extra branchd arguments, for the next hbt_hall_start; the
 * room for both is asserted. hbt_hq_arg: the same for hqd. */
void hbt_hall_arg(hbt_hall_t *hall, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hbt_hq_arg(hbt_hq_t *hq, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes `policy_json` to the hall's folder and adds --policy_file and
 * --services (HBT_SERVICES when `services` is NULL) to its extra
 * arguments, for the next hbt_hall_start. */
void hbt_hall_set_engine(hbt_hall_t *hall, const char *policy_json, const char *services);
void hbt_hall_stop(hbt_hall_t *hall, int sig);
/* `branchd devices add NAME --kind KIND [--counter C]` on the hall's data
 * folder (counter NULL: none): the new device's token into `token`. */
void hbt_hall_add_device(hbt_hall_t *hall, const char *name, const char *kind, const char *counter,
                         char *token, size_t len);
/* The same, and the token's id (the 16 characters the command names after
 * "token id ") into `token_id`, `id_len` bytes at most. */
void hbt_hall_add_device_id(hbt_hall_t *hall, const char *name, const char *kind,
                            const char *counter, char *token, size_t len, char *token_id,
                            size_t id_len);
/* Posts `n` generated events (in arrays of up to 500); returns the last seq. */
uint64_t hbt_hall_post(hbt_hall_t *hall, int n, int tag);
/* Waits until the hall runs HQ's published policy `version` (its GET
 * /v1/policy says so); fails the test after `timeout_ms`. */
void hbt_wait_policy(hbt_hall_t *hall, int64_t version, int timeout_ms);
/* Posts the events of `events` (a JSON array, taken and freed) to the
 * hall's POST /v1/events; fails the test unless it answers 200. */
void hbt_hall_post_json(hbt_hall_t *hall, json_t *events);
/* Waits up to `timeout_ms` until HQ's rollups of local day `date`
 * (YYYY-MM-DD) over `scope` are complete (GET /v1/reports/kpi's
 * rolled_up); fails the test after. */
void hbt_wait_rolled_up(hbt_hq_t *hq, const char *scope, const char *date, int timeout_ms);
/* The same for any KPI `query` ("scope=CN&period=month&date=2026-10-01")
 * of the hqd at `base`. */
void hbt_wait_rolled_up_query(const char *base, const char *query, int timeout_ms);
/* Prints the last `n` lines (64 at most) of a daemon's log to stderr: what
 * it said before a test gave up waiting (its folder is removed after). */
void hbt_print_log_tail(const char *log, int n);
/* Waits until HQ holds the hall's whole stream: last_seq equal to the
 * hall's and the two stream digests equal. Returns false on timeout. */
bool hbt_wait_synced(hbt_hq_t *hq, hbt_hall_t *hall, int timeout_ms);
/* How many events of JSON type `type` ("day_started") HQ holds for `hall`
 * (every stored event read through HQ's API). The hall engine starts each
 * local day with a day_started event of its own, so a test that counts
 * its posted events adds these. */
int64_t hbt_hq_count_type(hbt_hq_t *hq, const char *hall, const char *type);
/* Asserts HQ's last_seq, events and stream_digest equal the hall's. */
void hbt_assert_synced(hbt_hq_t *hq, hbt_hall_t *hall);

/* ---- raw link client (speaks frames itself, with an enrolled hall's keys) */
typedef struct hbt_raw hbt_raw_t;
/* Connects with the key pair in `key_dir` (hall.key, hall.key_secret, hq.key). */
hbt_raw_t *hbt_raw_connect(const char *endpoint, const char *key_dir);
void hbt_raw_close(hbt_raw_t **raw);
int hbt_raw_send_bytes(hbt_raw_t *raw, const void *data, size_t len);
int hbt_raw_send_frame(hbt_raw_t *raw, const Hallbus__Frame *frame);
/* One batch frame of `n` packed envelopes (they stay the caller's). */
int hbt_raw_send_events(hbt_raw_t *raw, ProtobufCBinaryData *items, size_t n);
/* Receives one frame (NULL on timeout); free with hb_frame_free. */
Hallbus__Frame *hbt_raw_recv(hbt_raw_t *raw, int timeout_ms);
/* Receives frames until one of `kind` arrives (others dropped). */
Hallbus__Frame *hbt_raw_expect(hbt_raw_t *raw, Hallbus__Frame__KindCase kind, int timeout_ms);
/* Sends one Hello frame of `protocol` from `software`; 0 or an error code. */
int hbt_raw_send_hello(hbt_raw_t *raw, uint32_t protocol, const char *software);
/* Sends Hello and returns the committed seq from Welcome (-1 on timeout). */
int64_t hbt_raw_hello(hbt_raw_t *raw);
/* hbt_raw_connect and hbt_raw_hello, welcomed with nothing committed yet:
 * a fresh hall's stream. Fails the test otherwise. */
hbt_raw_t *hbt_raw_fresh(const char *endpoint, const char *key_dir);
/* Encodes a ticket event with sequence `seq` into `out` (malloc'd). */
size_t hbt_envelope_bytes(uint64_t seq, int64_t at_ms, uint8_t **out);
/* Sends a batch of events with sequences first..first+n-1, stamped with
 * this second (so a resend made in another second differs: HQ refuses it
 * as a conflict), or with `at_ms` (a resend of the same bytes). */
int hbt_raw_send_batch(hbt_raw_t *raw, uint64_t first, size_t n);
int hbt_raw_send_batch_at(hbt_raw_t *raw, uint64_t first, size_t n, int64_t at_ms);

/* Sends a batch (hbt_raw_send_batch, or hbt_raw_send_batch_at when `at_ms`
 * is not 0) and waits up to 5 s for its Ack: the test fails without one.
 * Returns the Ack's committed_seq. */
int64_t hbt_raw_send_acked(hbt_raw_t *raw, uint64_t first, size_t n, int64_t at_ms);

/* ---- a stand-in HQ (speaks frames itself, with the real hqd's key) */
/* A CURVE ROUTER with `hq`'s key pair (hq->keys/hq.key), for a test that
 * plays HQ's side of the link to a real branchd: bound at `endpoint`
 * ("tcp://127.0.0.1:*" for any port), the address it got into `bound` when
 * that is not NULL. Fails the test when it cannot. */
typedef struct hbt_standin hbt_standin_t;
hbt_standin_t *hbt_standin_start(const hbt_hq_t *hq, const char *endpoint, char *bound,
                                 size_t bound_len);
void hbt_standin_stop(hbt_standin_t **s);
/* Receives one frame (NULL on timeout, or when the bytes are no frame);
 * free with hb_frame_free. Who sent it is kept for hbt_standin_reply. */
Hallbus__Frame *hbt_standin_recv(hbt_standin_t *s, int timeout_ms);
/* Sends `f` to the sender of the frame received last. */
void hbt_standin_reply(hbt_standin_t *s, const Hallbus__Frame *f);

/* ---- TCP proxy between a hall and HQ (a thread in the test process) */
typedef struct hbt_proxy hbt_proxy_t;
/* Listens on a free port, forwards to 127.0.0.1:target_port. */
hbt_proxy_t *hbt_proxy_start(int target_port);
int hbt_proxy_port(const hbt_proxy_t *p);
/* Stops forwarding in both directions but keeps the sockets open: each end
 * sees a silent peer, as with a half-open connection. */
void hbt_proxy_freeze(hbt_proxy_t *p, bool frozen);
/* Closes every current connection (the next ones are forwarded again). */
void hbt_proxy_cut(hbt_proxy_t *p);
void hbt_proxy_stop(hbt_proxy_t **p);

#endif
