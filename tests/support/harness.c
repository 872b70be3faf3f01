/* The integration-test harness (see harness.h). Assertions use cmocka, so a
 * broken environment fails the test that needed it, with the reason. */
#include "harness.h"

#include "hallbus/time.h"

#include "hallbus/cert.h"
#include "hallbus/codec.h"
#include "hallbus/httpc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

void hbt_mkdtemp(char *out, size_t len, const char *tag)
{
    snprintf(out, len, "/tmp/hb-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(out));
}

void hbt_rmdir(const char *dir)
{
    if (getenv("HB_KEEP_TEST_DIRS"))
        return;
    char *argv[] = {"rm", "-rf", (char *)dir, NULL};
    hbt_run(argv, NULL, 0);
}

void *hbt_fixture_new(size_t size, const char *tag)
{
    assert_true(size >= HBT_FIXTURE_DIR);
    char *f = calloc(1, size);
    assert_non_null(f);
    hbt_mkdtemp(f, HBT_FIXTURE_DIR, tag);
    return f;
}

void hbt_fixture_free(void *fixture)
{
    hbt_rmdir(fixture);
    free(fixture);
}

void hbt_assert_contains_all(const char *hay, ...)
{
    va_list ap;
    va_start(ap, hay);
    for (const char *needle; (needle = va_arg(ap, const char *));) {
        if (!strstr(hay, needle)) {
            va_end(ap);
            fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
        }
    }
    va_end(ap);
}

bool hbt_log_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

bool hbt_wait_log(const char *path, const char *needle, int ms)
{
    for (int64_t end = hbt_now_ms() + ms; hbt_now_ms() < end; hbt_sleep_ms(50)) {
        if (hbt_log_has(path, needle))
            return true;
    }
    return hbt_log_has(path, needle);
}

void hbt_read_file(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, len - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
}

void hbt_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* The kernel may give the same free port twice in a row (it was free both
 * times), and two halls given one port would have one of them fail to bind
 * while the other answers its requests. So a port is handed out once per
 * test process. */
int hbt_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

int hbt_stderr_to(const char *path)
{
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fail_msg("%s: %s", path, strerror(errno));
    dup2(fd, 2);
    close(fd);
    return saved;
}

void hbt_stderr_back(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

char *hbt_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

uint32_t hbt_rand(uint64_t *rng, uint32_t n)
{
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return (uint32_t)(*rng % n);
}

int hbt_tmpdir_setup(void **state)
{
    hbt_tmpdir_t *t = *state;
    hbt_mkdtemp(t->path, sizeof t->path, t->tag);
    return 0;
}

int hbt_tmpdir_teardown(void **state)
{
    hbt_tmpdir_t *t = *state;
    hbt_rmdir(t->path);
    return 0;
}

int hbt_tmpdir_notify_teardown(void **state)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return hbt_tmpdir_teardown(state);
}

/* The lowest port of the kernel's ephemeral range (what bind to port 0 and
 * every outgoing connection take from), 32768 when it cannot be read. */
static int s_ephemeral_low(void)
{
    int low = 32768, high = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(f);
    }
    return low;
}

/* Whether nothing holds `port` on the loopback now (a bind succeeds). */
static bool s_port_bindable(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Ports are chosen at random below the ephemeral range, not by binding port
 * 0: a port from that range can be taken by any outgoing connection (another
 * test's client, a ZeroMQ reconnect, a benchmark's thousands of halls) between
 * this choice and the daemon's own bind, which then fails with "Address
 * already in use". Below the range only another listener can take it; tests
 * running side by side pick at random, and one process never gets a port
 * twice. */
int hbt_free_port(void)
{
    enum { GIVEN_MAX = 4096, LOW = 10000 };
    static uint16_t given[GIVEN_MAX];
    static size_t n_given;
    static uint64_t rng;
    if (rng == 0)
        rng = ((uint64_t)getpid() << 32) ^ (uint64_t)hb_now_ms() ^ 0x9e3779b97f4a7c15ull;
    int high = s_ephemeral_low() - 1;
    if (high - LOW < 1000)
        fail_msg("the ephemeral port range starts at %d: no room below it for test ports",
                 high + 1);
    for (int attempt = 0; attempt < 1000; attempt++) {
        int port = LOW + (int)hbt_rand(&rng, (uint32_t)(high - LOW + 1));
        bool seen = false;
        for (size_t i = 0; i < n_given && !seen; i++)
            seen = given[i] == port;
        if (seen || !s_port_bindable(port))
            continue;
        if (n_given < GIVEN_MAX)
            given[n_given++] = (uint16_t)port;
        return port;
    }
    fail_msg("no fresh free port below %d after 1,000 tries", high + 1);
    return -1;
}

void hbt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int64_t hbt_now_ms(void) { return hb_mono_ms(); }

int64_t hbt_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void hbt_spawn(hbt_proc_t *p, const char *log, char *const argv[])
{
    snprintf(p->log, sizeof p->log, "%s", log);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
}

bool hbt_alive(hbt_proc_t *p)
{
    if (p->pid <= 0)
        return false;
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
        p->pid = 0;
        return false;
    }
    return true;
}

/* Fails the test if a log holds a sanitizer report. */
static void s_check_log_clean(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "Sanitizer") || strstr(line, "runtime error:")) {
            fclose(f);
            fail_msg("sanitizer report in %s: %s", log, line);
        }
    }
    fclose(f);
}

/* The last `n` lines of a log, to stderr. */
void hbt_print_log_tail(const char *log, int n)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    enum { KEEP = 64 };
    static char lines[KEEP][1024];
    int count = 0;
    while (fgets(lines[count % KEEP], sizeof lines[0], f))
        count++;
    fclose(f);
    if (n > KEEP)
        n = KEEP;
    int from = count > n ? count - n : 0;
    fprintf(stderr, "---- the last %d line(s) of %s\n", count - from, log);
    for (int i = from; i < count; i++)
        fputs(lines[i % KEEP], stderr);
    fprintf(stderr, "----\n");
}

void hbt_kill(hbt_proc_t *p, int sig)
{
    if (p->pid <= 0)
        return;
    kill(p->pid, sig);
    int64_t deadline = hbt_now_ms() + 15000;
    int status = 0;
    bool forced = false;
    while (waitpid(p->pid, &status, WNOHANG) == 0) {
        if (hbt_now_ms() > deadline) {
            fprintf(stderr, "harness: pid %d ignored signal %d; killing\n", (int)p->pid, sig);
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            forced = true;
            break;
        }
        hbt_sleep_ms(10);
    }
    p->pid = 0;
    if (sig == SIGKILL)
        return;
    /* A clean stop must be clean: exit 0, nothing from the sanitizers. The
     * log's end goes to the test's output: its folder is removed after. */
    if (forced || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        hbt_print_log_tail(p->log, 30);
        fail_msg("%s did not stop cleanly on signal %d (status %d); its end is above", p->log, sig,
                 status);
    }
    s_check_log_clean(p->log);
}

int hbt_run(char *const argv[], char *out, size_t outlen)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    size_t used = 0;
    char sink[4096];
    for (;;) {
        char *dst = out && used + 1 < outlen ? out + used : sink;
        size_t room = out && used + 1 < outlen ? outlen - used - 1 : sizeof sink;
        ssize_t n = read(pipefd[0], dst, room);
        if (n <= 0)
            break;
        if (dst != sink)
            used += (size_t)n;
    }
    if (out && outlen)
        out[used] = '\0';
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int hbt_vargv(char **argv, int cap, const char *prog, va_list ap)
{
    int n = 0;
    argv[n++] = (char *)prog;
    for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *)) {
        assert_true(n < cap - 1);
        argv[n++] = (char *)a;
    }
    argv[n] = NULL;
    return n;
}

int hbt_run_args(char *out, size_t outlen, const char *bin, ...)
{
    char *argv[64];
    va_list ap;
    va_start(ap, bin);
    hbt_vargv(argv, 64, bin, ap);
    va_end(ap);
    return hbt_run(argv, out, outlen);
}

/* Tokens by base URL: a few daemons per test process. */
enum { HBT_TOKENS_MAX = 32 };
static struct {
    char base[64];
    char token[64];
} s_tokens[HBT_TOKENS_MAX];

void hbt_http_set_token(const char *base, const char *token)
{
    size_t free_slot = HBT_TOKENS_MAX;
    for (size_t i = 0; i < HBT_TOKENS_MAX; i++) {
        if (strcmp(s_tokens[i].base, base) == 0) {
            snprintf(s_tokens[i].token, sizeof s_tokens[i].token, "%s", token ? token : "");
            return;
        }
        if (!s_tokens[i].base[0] && free_slot == HBT_TOKENS_MAX)
            free_slot = i;
    }
    assert_true(free_slot < HBT_TOKENS_MAX);
    snprintf(s_tokens[free_slot].base, sizeof s_tokens[free_slot].base, "%s", base);
    snprintf(s_tokens[free_slot].token, sizeof s_tokens[free_slot].token, "%s", token ? token : "");
}

const char *hbt_http_token(const char *base)
{
    for (size_t i = 0; i < HBT_TOKENS_MAX; i++)
        if (s_tokens[i].base[0] && strcmp(s_tokens[i].base, base) == 0)
            return s_tokens[i].token[0] ? s_tokens[i].token : NULL;
    return NULL;
}

int hbt_http_raw(const char *base, const char *method, const char *path, const char *body,
                 hb_httpc_resp_t *resp)
{
    char err[256];
    hb_httpc_opts_t opts = {.timeout_ms = 5000, .token = hbt_http_token(base)};
    return hb_httpc_call(base, method, path, body, &opts, resp, err, sizeof err);
}

int hbt_http(const char *base, const char *method, const char *path, const char *body, json_t **out)
{
    return hbt_http_as(base, hbt_http_token(base), NULL, method, path, body, out);
}

int hbt_http_as(const char *base, const char *token, const char *cacert, const char *method,
                const char *path, const char *body, json_t **out)
{
    hb_httpc_resp_t resp;
    hb_httpc_opts_t opts = {.timeout_ms = 5000, .token = token, .cacert = cacert};
    char err[256];
    if (out)
        *out = NULL;
    if (hb_httpc_call(base, method, path, body, &opts, &resp, err, sizeof err) != 0)
        return -1;
    if (out)
        *out = json_loadb(resp.body, resp.body_len, 0, NULL);
    int status = resp.status;
    hb_httpc_resp_free(&resp);
    return status;
}

json_t *hbt_get(const char *base, const char *path)
{
    json_t *out = NULL;
    int status = hbt_http(base, "GET", path, NULL, &out);
    if (status != 200) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int hbt_http_connect(const char *base)
{
    const char *hp = strncmp(base, "http://", 7) == 0 ? base + 7 : base;
    const char *colon = strrchr(hp, ':');
    assert_non_null(colon);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    assert_int_equal(inet_pton(AF_INET, host, &a.sin_addr), 1);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int hbt_http_send_raw(const char *base, const char *raw, char *out, size_t outlen)
{
    out[0] = '\0';
    int fd = hbt_http_connect(base);
    if (fd < 0)
        return -1;
    size_t len = strlen(raw), sent = 0;
    while (sent < len) {
        ssize_t n = write(fd, raw + sent, len - sent);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, out + used, outlen - used - 1);
        if (n <= 0)
            break;
        used += (size_t)n;
        if (used + 1 >= outlen)
            break;
    }
    out[used] = '\0';
    close(fd);
    int status = -1;
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

bool hbt_http_answer_header(const char *answer, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    const char *end = strstr(answer, "\r\n\r\n");
    for (const char *p = strstr(answer, "\r\n"); p && (!end || p < end);
         p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t vlen = strcspn(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int)vlen, v);
            return true;
        }
    }
    return false;
}

const char *hbt_http_answer_body(const char *answer)
{
    const char *end = strstr(answer, "\r\n\r\n");
    return end ? end + 4 : "";
}

const char *hbt_http_answer_head(const char *answer, char *head, size_t headlen)
{
    const char *end = strstr(answer, "\r\n\r\n");
    assert_non_null(end);
    size_t hl = (size_t)(end - answer);
    assert_true(hl < headlen);
    for (size_t i = 0; i < hl; i++)
        head[i] = (char)tolower((unsigned char)answer[i]);
    head[hl] = '\0';
    return end + 4;
}

int64_t hbt_int(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

double hbt_sample(const char *text, const char *sample)
{
    size_t n = strlen(sample);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, sample, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return NAN;
}

/* ---- the system */

void hbt_hq_init(hbt_hq_t *hq, const char *root)
{
    memset(hq, 0, sizeof *hq);
    snprintf(hq->root, sizeof hq->root, "%s", root);
    snprintf(hq->keys, sizeof hq->keys, "%s/hq-keys", root);
    snprintf(hq->data, sizeof hq->data, "%s/hq-data", root);
    snprintf(hq->endpoint, sizeof hq->endpoint, "tcp://127.0.0.1:%d", hbt_free_port());
    int hp = hbt_free_port();
    snprintf(hq->http_addr, sizeof hq->http_addr, "127.0.0.1:%d", hp);
    snprintf(hq->http, sizeof hq->http, "http://127.0.0.1:%d", hp);
}

/* The last line of `out` (a command's token) into `line`. */
static void s_last_line(const char *out, char *line, size_t len)
{
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    size_t start = n;
    while (start > 0 && out[start - 1] != '\n')
        start--;
    snprintf(line, len, "%.*s", (int)(n - start), out + start);
}

void hbt_hq_user(hbt_hq_t *hq, const char *name, char *token, ...)
{
    char *argv[40] = {HB_BIN_DIR "/hqd/hqd", "users", "add", (char *)name};
    int n = 4;
    va_list ap;
    va_start(ap, token);
    for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *)) {
        assert_true(n < 36);
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n++] = "--data";
    argv[n++] = hq->data;
    argv[n] = NULL;
    char out[4096];
    int rc = hbt_run(argv, out, sizeof out);
    if (rc != 0)
        fail_msg("hqd users add %s failed (%d): %s", name, rc, out);
    s_last_line(out, token, 64);
    assert_true(strncmp(token, "hqt_", 4) == 0);
}

void hbt_campaign_publish(hbt_hq_t *hq, const char *doc, const char *id)
{
    char path[160], rev[64];
    if (!hq->reviewer[0]) {
        hbt_hq_user(hq, "rev", rev, "--role", "reviewer", NULL);
        snprintf(hq->reviewer, sizeof hq->reviewer, "%s", rev);
    }
    static const struct {
        const char *step; /* NULL: the document itself */
        bool reviewer;
        int want;
    } steps[] = {
        {NULL, false, 201}, {"submit", false, 200}, {"approve", true, 200}, {"publish", true, 200}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].step)
            snprintf(path, sizeof path, "/v1/campaigns/%s/%s", id, steps[i].step);
        else
            snprintf(path, sizeof path, "/v1/campaigns");
        json_t *resp = NULL;
        int st = hbt_http_as(hq->http, steps[i].reviewer ? hq->reviewer : hq->token, NULL, "POST",
                             path, steps[i].step ? "{}" : doc, &resp);
        char *dump = st != steps[i].want && resp ? json_dumps(resp, 0) : NULL;
        json_decref(resp);
        if (st != steps[i].want)
            fail_msg("POST %s: %d, wanted %d: %s", path, st, steps[i].want, dump ? dump : "");
        free(dump);
    }
}

void hbt_hq_password(hbt_hq_t *hq, const char *name, const char *password)
{
    char cmd[1024], out[2048];
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '%s' | '%s' users passwd '%s' --data '%s'", password,
             HB_BIN_DIR "/hqd/hqd", name, hq->data);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = hbt_run(argv, out, sizeof out);
    if (rc != 0)
        fail_msg("hqd users passwd %s failed (%d): %s", name, rc, out);
}

int hbt_hq_login(hbt_hq_t *hq, const char *name, const char *password, char *cookie, char *csrf)
{
    char body[512], req[1024], ans[16384];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
    snprintf(req, sizeof req,
             "POST /v1/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             hq->http_addr, strlen(body), body);
    int status = hbt_http_send_raw(hq->http, req, ans, sizeof ans);
    cookie[0] = csrf[0] = '\0';
    if (status != 200)
        return status;
    char set[512];
    assert_true(hbt_http_answer_header(ans, "Set-Cookie", set, sizeof set));
    const char *v = strstr(set, "hallbus_session=");
    assert_non_null(v);
    v += strlen("hallbus_session=");
    snprintf(cookie, 64, "%.*s", (int)strcspn(v, ";"), v);
    json_t *me = json_loads(hbt_http_answer_body(ans), 0, NULL);
    const char *c = json_string_value(json_object_get(me, "csrf_token"));
    assert_non_null(c);
    snprintf(csrf, 64, "%s", c);
    json_decref(me);
    return status;
}

/* Waits (30 s at most: a daemon rebuilding its state on a machine loaded by
 * parallel builds may take long) until the daemon just spawned answers
 * /v1/status; fails the test with the end of its log if it does not, or
 * dies first (the log's folder is removed after the test). */
static void s_wait_up(hbt_proc_t *p, const char *http, const char *what, const char *log)
{
    int64_t deadline = hbt_now_ms() + 30000;
    while (hbt_now_ms() < deadline) {
        json_t *st = hbt_get(http, "/v1/status");
        if (st) {
            json_decref(st);
            return;
        }
        if (!hbt_alive(p))
            break;
        hbt_sleep_ms(50);
    }
    hbt_print_log_tail(log, 30);
    fail_msg("%s did not come up (%s); its log's end is above", what,
             hbt_alive(p) ? "no answer in 30 s" : "it exited");
}

void hbt_hq_start(hbt_hq_t *hq)
{
    char log[400];
    if (!hq->token[0]) {
        /* The first admin, as an operator makes one: by the command line,
         * before the daemon runs. A folder used before has one: a new
         * token for it then. */
        char out[4096], tname[32];
        char *add[] = {HB_BIN_DIR "/hqd/hqd",
                       "users",
                       "add",
                       "admin",
                       "--role",
                       "admin",
                       "--data",
                       hq->data,
                       NULL};
        int rc = hbt_run(add, out, sizeof out);
        if (rc == 1) {
            snprintf(tname, sizeof tname, "harness-%d", (int)(hbt_now_us() % 1000000000));
            char *tok[] = {HB_BIN_DIR "/hqd/hqd",
                           "users",
                           "token",
                           "admin",
                           "--name",
                           tname,
                           "--data",
                           hq->data,
                           NULL};
            rc = hbt_run(tok, out, sizeof out);
        }
        if (rc != 0)
            fail_msg("cannot make HQ's admin (%d): %s", rc, out);
        s_last_line(out, hq->token, sizeof hq->token);
    }
    hbt_http_set_token(hq->http, hq->token);
    snprintf(log, sizeof log, "%s/hqd.log", hq->root);
    char *argv[32] = {hq->bin[0] ? hq->bin : HB_BIN_DIR "/hqd/hqd",
                      "--data",
                      hq->data,
                      "--keys",
                      hq->keys,
                      "--listen",
                      hq->endpoint,
                      "--http",
                      hq->http_addr,
                      "--heartbeat",
                      "500ms"};
    int n = 11;
    for (int i = 0; i < hq->n_extra && n < 30; i++)
        argv[n++] = hq->extra[i];
    argv[n] = NULL;
    hbt_spawn(&hq->proc, log, argv);
    s_wait_up(&hq->proc, hq->http, "hqd", log);
}

void hbt_hq_stop(hbt_hq_t *hq, int sig) { hbt_kill(&hq->proc, sig); }

void hbt_hall_init(const hbt_hq_t *hq, hbt_hall_t *hall, const char *id)
{
    memset(hall, 0, sizeof *hall);
    snprintf(hall->id, sizeof hall->id, "%s", id);
    snprintf(hall->dir, sizeof hall->dir, "%s/hall-%s", hq->root, id);
    snprintf(hall->data, sizeof hall->data, "%s/data", hall->dir);
    snprintf(hall->hq_endpoint, sizeof hall->hq_endpoint, "%s", hq->endpoint);
    int hp = hbt_free_port();
    snprintf(hall->http_addr, sizeof hall->http_addr, "127.0.0.1:%d", hp);
    snprintf(hall->http, sizeof hall->http, "http://127.0.0.1:%d", hp);
}

void hbt_hall_enroll_signed(hbt_hq_t *hq, hbt_hall_t *hall, const char *id, const char *region)
{
    char out[4096], req[400], ans[400];
    hbt_hall_init(hq, hall, id);
    if (hbt_run_args(out, sizeof out, HB_BIN_DIR "/branchd/branchd", "enroll", "--hall", id,
                     "--hq-endpoint", hq->endpoint, "--out", hall->dir, "--region", region,
                     (char *)NULL) != 0)
        fail_msg("branchd enroll %s: %s", id, out);
    snprintf(req, sizeof req, "%s/enrolment-request.txt", hall->dir);
    snprintf(ans, sizeof ans, "%s/answer-%s.json", hq->root, id);
    if (hbt_run_args(out, sizeof out, HB_BIN_DIR "/tools/hallctl", "enroll", "approve", req, "--hq",
                     hq->http, "--token", hq->token, "--out", ans, (char *)NULL) != 0)
        fail_msg("hallctl enroll approve %s: %s", id, out);
    if (!strstr(out, "approved hall"))
        fail_msg("hallctl enroll approve %s said: %s", id, out);
    if (hbt_run_args(out, sizeof out, HB_BIN_DIR "/tools/hallctl", "enroll", "install", ans,
                     "--keys", hall->dir, (char *)NULL) != 0)
        fail_msg("hallctl enroll install %s: %s", id, out);
}

void hbt_hall_enroll(hbt_hq_t *hq, hbt_hall_t *hall, const char *id)
{
    hbt_hall_init(hq, hall, id);
    char out[2048];
    char *argv[] = {hq->hallctl[0] ? hq->hallctl : HB_BIN_DIR "/tools/hallctl",
                    "enroll",
                    (char *)id,
                    "--region",
                    "test",
                    "--hq-keys",
                    hq->keys,
                    "--out",
                    hall->dir,
                    "--hq-endpoint",
                    hq->endpoint,
                    NULL};
    int rc = hbt_run(argv, out, sizeof out);
    if (rc != 0)
        fail_msg("hallctl enroll %s failed (%d): %s", id, rc, out);
}

/* Starts branchd (hbt_hall_start's first half: it does not wait). */
static void s_hall_spawn(hbt_hall_t *hall)
{
    char log[400];
    snprintf(log, sizeof log, "%s/branchd.log", hall->dir);
    char *argv[40] = {hall->bin[0] ? hall->bin : HB_BIN_DIR "/branchd/branchd",
                      "--id",
                      hall->id,
                      "--data",
                      hall->data,
                      "--hq",
                      hall->hq_endpoint,
                      "--http",
                      hall->http_addr,
                      "--keys",
                      hall->dir,
                      "--heartbeat",
                      "300ms",
                      "--link_timeout",
                      "2s",
                      "--reconnect_min",
                      "100ms",
                      "--reconnect_max",
                      "1s"};
    int n = 19;
    if (!hall->tokens_only) {
        argv[n++] = "--local_trust";
        argv[n++] = "true";
    }
    for (int i = 0; i < hall->n_extra && n < 38; i++)
        argv[n++] = hall->extra[i];
    argv[n] = NULL;
    hbt_spawn(&hall->proc, log, argv);
}

/* Waits until the branchd just spawned answers (hbt_hall_start's second
 * half); fails the test with the end of its log after `ms`. */
static void s_hall_wait_up(hbt_hall_t *hall, int ms)
{
    char log[400];
    snprintf(log, sizeof log, "%s/branchd.log", hall->dir);
    const char *token = hall->token[0] ? hall->token : NULL;
    int64_t deadline = hbt_now_ms() + ms;
    while (hbt_now_ms() < deadline) {
        json_t *st = NULL;
        int status = hbt_http_as(hall->http, token, hall->cacert[0] ? hall->cacert : NULL, "GET",
                                 "/v1/status", NULL, &st);
        json_decref(st);
        if (status == 200 || (hall->tokens_only && !token && status == 401))
            return;
        if (!hbt_alive(&hall->proc))
            break;
        hbt_sleep_ms(50);
    }
    hbt_print_log_tail(log, 30);
    fail_msg("branchd %s did not come up; the end of %s is above", hall->id, log);
}

void hbt_hall_start(hbt_hall_t *hall)
{
    s_hall_spawn(hall);
    s_hall_wait_up(hall, 15000);
}

void hbt_halls_start(hbt_hall_t *halls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s_hall_spawn(&halls[i]);
    /* They start side by side: each may wait for the others' start too. */
    int ms = 15000 + (int)(n > 1 ? (n - 1) * 1000 : 0);
    for (size_t i = 0; i < n; i++)
        s_hall_wait_up(&halls[i], ms);
}

void hbt_hall_stop(hbt_hall_t *hall, int sig) { hbt_kill(&hall->proc, sig); }

/* Appends `name` and the formatted value to `extra` (`max` rows, `*n` of
 * them used). */
static void s_extra_arg(char (*extra)[512], int *n, int max, const char *name, const char *fmt,
                        va_list ap)
{
    assert_true(*n + 2 <= max);
    snprintf(extra[(*n)++], sizeof extra[0], "%s", name);
    vsnprintf(extra[(*n)++], sizeof extra[0], fmt, ap);
}

void hbt_hall_arg(hbt_hall_t *hall, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_extra_arg(hall->extra, &hall->n_extra, (int)(sizeof hall->extra / sizeof hall->extra[0]),
                name, fmt, ap);
    va_end(ap);
}

void hbt_hq_arg(hbt_hq_t *hq, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_extra_arg(hq->extra, &hq->n_extra, (int)(sizeof hq->extra / sizeof hq->extra[0]), name, fmt,
                ap);
    va_end(ap);
}

void hbt_hall_set_engine(hbt_hall_t *hall, const char *policy_json, const char *services)
{
    char path[400];
    snprintf(path, sizeof path, "%s/policy.json", hall->dir);
    hbt_write_file(path, policy_json);
    hbt_hall_arg(hall, "--policy_file", "%s", path);
    hbt_hall_arg(hall, "--services", "%s", services ? services : HBT_SERVICES);
}

int64_t hbt_hq_count_type(hbt_hq_t *hq, const char *hall, const char *type)
{
    int64_t count = 0, from = 1;
    for (;;) {
        char path[160];
        snprintf(path, sizeof path, "/v1/halls/%s/events?from=%lld&limit=1000", hall,
                 (long long)from);
        json_t *page = hbt_get(hq->http, path);
        assert_non_null(page);
        json_t *arr = json_object_get(page, "events");
        size_t i;
        json_t *ev;
        json_array_foreach (arr, i, ev) {
            const char *t = json_string_value(json_object_get(ev, "type"));
            count += t && strcmp(t, type) == 0;
        }
        int64_t next = hbt_int(page, "next");
        json_decref(page);
        if (next <= from)
            return count;
        from = next;
    }
}

/* POST /v1/events of `body` to the hall, which must answer 200; its answer. */
static json_t *s_post_events(hbt_hall_t *hall, const char *body)
{
    json_t *resp = NULL;
    int status = hbt_http(hall->http, "POST", "/v1/events", body, &resp);
    if (status != 200) {
        char *dump = resp ? json_dumps(resp, 0) : NULL;
        fail_msg("POST /v1/events to %s: status %d %s", hall->id, status, dump ? dump : "");
    }
    return resp;
}

uint64_t hbt_hall_post(hbt_hall_t *hall, int n, int tag)
{
    uint64_t last = 0;
    int done = 0;
    while (done < n) {
        int chunk = n - done < 500 ? n - done : 500;
        size_t cap = (size_t)chunk * 160 + 16;
        char *body = malloc(cap);
        assert_non_null(body);
        size_t used = 0;
        body[used++] = '[';
        for (int i = 0; i < chunk; i++) {
            int k = done + i;
            used += (size_t)snprintf(body + used, cap - used,
                                     "%s{\"type\":\"ticket_issued\",\"ticket\":\"T%d-%d\","
                                     "\"service\":\"%c\",\"priority\":\"%s\"}",
                                     i ? "," : "", tag, k, 'A' + k % 3,
                                     k % 7 == 0 ? "elderly" : "normal");
        }
        body[used++] = ']';
        body[used] = '\0';
        json_t *resp = s_post_events(hall, body);
        free(body);
        last = (uint64_t)hbt_int(resp, "last_seq");
        json_decref(resp);
        done += chunk;
    }
    return last;
}

void hbt_hall_post_json(hbt_hall_t *hall, json_t *events)
{
    char *body = json_dumps(events, JSON_COMPACT);
    json_decref(events);
    assert_non_null(body);
    json_decref(s_post_events(hall, body));
    free(body);
}

void hbt_wait_rolled_up_query(const char *base, const char *query, int timeout_ms)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/reports/kpi?%s", query);
    int64_t deadline = hbt_now_ms() + timeout_ms;
    for (;;) {
        json_t *o = hbt_get(base, path);
        bool done = o && json_is_true(json_object_get(json_object_get(o, "rolled_up"), "complete"));
        json_decref(o);
        if (done)
            return;
        if (hbt_now_ms() > deadline)
            fail_msg("the rollups of %s (%s) were not complete within %d ms", query, base,
                     timeout_ms);
        hbt_sleep_ms(50);
    }
}

void hbt_wait_rolled_up(hbt_hq_t *hq, const char *scope, const char *date, int timeout_ms)
{
    char query[128];
    snprintf(query, sizeof query, "scope=%s&period=day&date=%s", scope, date);
    hbt_wait_rolled_up_query(hq->http, query, timeout_ms);
}

static bool s_synced(hbt_hq_t *hq, hbt_hall_t *hall, char *why, size_t whylen)
{
    json_t *hs = NULL;
    if (hbt_http_as(hall->http, hall->token[0] ? hall->token : NULL,
                    hall->cacert[0] ? hall->cacert : NULL, "GET", "/v1/status", NULL, &hs) != 200) {
        json_decref(hs);
        hs = NULL;
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/halls/%s", hall->id);
    json_t *hh = hbt_get(hq->http, path);
    bool ok = false;
    if (!hs || !hh) {
        snprintf(why, whylen, "%s answered %s, HQ answered %s", hall->id, hs ? "yes" : "no",
                 hh ? "yes" : "no");
    } else {
        int64_t hall_last = hbt_int(hs, "last_seq"), hq_last = hbt_int(hh, "last_seq");
        const char *d1 = json_string_value(json_object_get(hs, "stream_digest"));
        const char *d2 = json_string_value(json_object_get(hh, "stream_digest"));
        ok = hall_last == hq_last && hbt_int(hh, "events") == hall_last && d1 && d2 &&
             strcmp(d1, d2) == 0 && hbt_int(hs, "acked_seq") == hall_last;
        snprintf(why, whylen,
                 "hall %s last_seq %lld acked %lld; HQ last_seq %lld events %lld; "
                 "digests %s",
                 hall->id, (long long)hall_last, (long long)hbt_int(hs, "acked_seq"),
                 (long long)hq_last, (long long)hbt_int(hh, "events"),
                 d1 && d2 && strcmp(d1, d2) == 0 ? "equal" : "differ");
    }
    json_decref(hs);
    json_decref(hh);
    return ok;
}

void hbt_wait_policy(hbt_hall_t *hall, int64_t version, int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms, v = -1;
    while (hbt_now_ms() < deadline) {
        json_t *p = hbt_get(hall->http, "/v1/policy");
        v = p ? hbt_int(p, "version") : -1;
        json_decref(p);
        if (v == version)
            return;
        hbt_sleep_ms(100);
    }
    fail_msg("hall %s runs policy version %lld, not %lld, after %d ms", hall->id, (long long)v,
             (long long)version, timeout_ms);
}

bool hbt_wait_synced(hbt_hq_t *hq, hbt_hall_t *hall, int timeout_ms)
{
    char why[512];
    int64_t deadline = hbt_now_ms() + timeout_ms;
    while (hbt_now_ms() < deadline) {
        if (s_synced(hq, hall, why, sizeof why))
            return true;
        hbt_sleep_ms(100);
    }
    fprintf(stderr, "harness: not synced after %d ms: %s\n", timeout_ms, why);
    /* What each side said meanwhile: the reason is in there, and the
     * test's folder is removed after. */
    hbt_print_log_tail(hall->proc.log, 30);
    hbt_print_log_tail(hq->proc.log, 30);
    return false;
}

void hbt_assert_synced(hbt_hq_t *hq, hbt_hall_t *hall)
{
    char why[512];
    if (!s_synced(hq, hall, why, sizeof why))
        fail_msg("not synced: %s", why);
}

void hbt_hall_add_device(hbt_hall_t *hall, const char *name, const char *kind, const char *counter,
                         char *token, size_t len)
{
    hbt_hall_add_device_id(hall, name, kind, counter, token, len, NULL, 0);
}

void hbt_hall_add_device_id(hbt_hall_t *hall, const char *name, const char *kind,
                            const char *counter, char *token, size_t len, char *token_id,
                            size_t id_len)
{
    char *argv[12] = {HB_BIN_DIR "/branchd/branchd",
                      "devices",
                      "add",
                      (char *)name,
                      "--kind",
                      (char *)kind,
                      "--data",
                      hall->data};
    int n = 8;
    if (counter) {
        argv[n++] = "--counter";
        argv[n++] = (char *)counter;
    }
    argv[n] = NULL;
    char out[4096];
    int rc = hbt_run(argv, out, sizeof out);
    if (rc != 0)
        fail_msg("branchd devices add %s: exit %d: %s", name, rc, out);
    s_last_line(out, token, len);
    assert_true(strlen(token) >= 40);
    if (token_id) {
        /* The command names the token's id on an earlier line. */
        static const char label[] = "token id ";
        const char *id = strstr(out, label);
        assert_non_null(id);
        snprintf(token_id, id_len, "%.16s", id + strlen(label));
    }
}
