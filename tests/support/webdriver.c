/* Headless Chromium through ChromeDriver (see webdriver.h). The driver runs
 * in a process group of its own so that one kill ends it and every browser
 * process it started; commands are plain HTTP with the test client. */
#include "webdriver.h"

#include "harness.h"

#include "hallbus/httpc.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#define WD_ELEMENT "element-6066-11e4-a52e-4f735466cecf"

bool hbt_wd_available(void)
{
    if (access(HBT_CHROMIUM, X_OK) == 0 && access(HBT_CHROMEDRIVER, X_OK) == 0)
        return true;
    fprintf(stderr, "SKIPPED: %s or %s is not installed (deploy/install-deps.sh --browser "
                    "installs Debian's chromium and chromium-driver)\n",
            HBT_CHROMIUM, HBT_CHROMEDRIVER);
    return false;
}

json_t *hbt_wd_cmd(hbt_wd_t *wd, const char *method, const char *path, json_t *body, int *status)
{
    char full[512], err[256];
    if (wd->session[0] && strncmp(path, "/session", 8) != 0)
        snprintf(full, sizeof full, "/session/%s%s", wd->session, path);
    else
        snprintf(full, sizeof full, "%s", path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    hb_httpc_resp_t resp;
    int rc = hb_httpc_request(wd->base, method, full,
                              text ? text : (strcmp(method, "POST") == 0 ? "{}" : NULL), 60000,
                              &resp, err, sizeof err);
    free(text);
    if (rc != 0)
        fail_msg("WebDriver %s %s: %s", method, full, err);
    *status = resp.status;
    json_t *doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    hb_httpc_resp_free(&resp);
    json_t *v = doc ? json_incref(json_object_get(doc, "value")) : NULL;
    json_decref(doc);
    return v;
}

json_t *hbt_wd_ok(hbt_wd_t *wd, const char *method, const char *path, json_t *body)
{
    int status;
    json_t *v = hbt_wd_cmd(wd, method, path, body, &status);
    if (status != 200) {
        char *t = v ? json_dumps(v, JSON_COMPACT) : NULL;
        fail_msg("WebDriver %s %s answered %d: %.800s", method, path, status, t ? t : "");
    }
    return v;
}

void hbt_wd_start(hbt_wd_t *wd, const char *root, int width, int height)
{
    memset(wd, 0, sizeof *wd);
    snprintf(wd->root, sizeof wd->root, "%s", root);
    int port = hbt_free_port();
    char log[400], portarg[32];
    snprintf(log, sizeof log, "%s/chromedriver.log", root);
    snprintf(portarg, sizeof portarg, "--port=%d", port);
    snprintf(wd->base, sizeof wd->base, "http://127.0.0.1:%d", port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        char *argv[] = {HBT_CHROMEDRIVER, portarg, NULL};
        execv(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so that a kill of the group never misses */
    wd->driver = pid;
    int64_t deadline = hbt_now_ms() + 20000;
    bool ready = false;
    while (!ready && hbt_now_ms() < deadline) {
        json_t *st = NULL;
        if (hbt_http(wd->base, "GET", "/status", NULL, &st) == 200)
            ready = json_is_true(json_object_get(json_object_get(st, "value"), "ready"));
        json_decref(st);
        if (!ready)
            hbt_sleep_ms(50);
    }
    if (!ready)
        fail_msg("chromedriver did not come up; see %s", log);

    /* No sandbox as root, no GPU, nothing that reaches the network; sound
     * (the display's chime and speech) without a touch first, as a hall's
     * display is set up (docs/HALL_PAGES.md). */
    char udd[400], size[64];
    snprintf(udd, sizeof udd, "--user-data-dir=%s/chromium-profile", root);
    snprintf(size, sizeof size, "--window-size=%d,%d", width, height);
    json_t *args = json_pack("[s, s, s, s, s, s, s, s, s, s, s, s, s]", "--headless", "--no-sandbox",
                             "--disable-gpu", "--disable-quic", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update",
                             "--disable-sync", "--disable-dev-shm-usage",
                             "--autoplay-policy=no-user-gesture-required",
                             "--disable-background-timer-throttling", size, udd);
    json_t *caps = json_pack("{s:{s:{s:s, s:s, s:{s:s, s:o}}}}", "capabilities", "alwaysMatch",
                             "browserName", "chrome", "pageLoadStrategy", "normal",
                             "goog:chromeOptions", "binary", HBT_CHROMIUM, "args", args);
    int64_t t0 = hbt_now_ms();
    json_t *v = hbt_wd_ok(wd, "POST", "/session", caps);
    const char *sid = json_string_value(json_object_get(v, "sessionId"));
    assert_non_null(sid);
    snprintf(wd->session, sizeof wd->session, "%s", sid);
    const char *version = json_string_value(
        json_object_get(json_object_get(v, "capabilities"), "browserVersion"));
    fprintf(stderr, "browser: Chromium %s, session started in %lld ms\n", version ? version : "?",
            (long long)(hbt_now_ms() - t0));
    json_decref(v);
}

void hbt_wd_stop(hbt_wd_t *wd)
{
    if (wd->session[0]) {
        char path[200], err[256];
        hb_httpc_resp_t resp;
        snprintf(path, sizeof path, "/session/%s", wd->session);
        if (hb_httpc_request(wd->base, "DELETE", path, NULL, 20000, &resp, err, sizeof err) == 0)
            hb_httpc_resp_free(&resp);
        wd->session[0] = '\0';
    }
    if (wd->driver > 0) {
        kill(-wd->driver, SIGTERM);
        int64_t deadline = hbt_now_ms() + 5000;
        while (waitpid(wd->driver, NULL, WNOHANG) == 0 && hbt_now_ms() < deadline)
            hbt_sleep_ms(20);
        kill(-wd->driver, SIGKILL);
        waitpid(wd->driver, NULL, WNOHANG);
        wd->driver = 0;
    }
}

void hbt_wd_open(hbt_wd_t *wd, const char *url)
{
    json_decref(hbt_wd_ok(wd, "POST", "/url", json_pack("{s:s}", "url", url)));
}

json_t *hbt_wd_exec(hbt_wd_t *wd, const char *script)
{
    return hbt_wd_ok(wd, "POST", "/execute/sync",
                     json_pack("{s:s, s:[]}", "script", script, "args"));
}

bool hbt_wd_exec_true(hbt_wd_t *wd, const char *script)
{
    json_t *v = hbt_wd_exec(wd, script);
    bool t = json_is_true(v);
    json_decref(v);
    return t;
}

void hbt_wd_run(hbt_wd_t *wd, const char *script)
{
    json_decref(hbt_wd_exec(wd, script));
}

void hbt_wd_exec_str(hbt_wd_t *wd, const char *script, char *out, size_t outlen)
{
    json_t *v = hbt_wd_exec(wd, script);
    snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(v);
}

bool hbt_wd_wait(hbt_wd_t *wd, const char *script, int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms;
    do {
        if (hbt_wd_exec_true(wd, script))
            return true;
        hbt_sleep_ms(20);
    } while (hbt_now_ms() < deadline);
    return false;
}

void hbt_wd_wait_ok(hbt_wd_t *wd, const char *script, int timeout_ms, const char *what)
{
    if (!hbt_wd_wait(wd, script, timeout_ms)) {
        char state[2048];
        hbt_wd_exec_str(wd,
                        "return location.pathname + ' | notice: ' +"
                        " (document.getElementById('notice')?.textContent || '') + ' | main: ' +"
                        " (document.querySelector('main')?.innerText || '').slice(0, 1200);",
                        state, sizeof state);
        fail_msg("%s (within %d ms); the page shows: %s", what, timeout_ms, state);
    }
}

bool hbt_wd_find(hbt_wd_t *wd, const char *css, char *out, size_t outlen)
{
    int status;
    json_t *v = hbt_wd_cmd(wd, "POST", "/element",
                           json_pack("{s:s, s:s}", "using", "css selector", "value", css), &status);
    const char *ref = status == 200 ? json_string_value(json_object_get(v, WD_ELEMENT)) : NULL;
    if (ref)
        snprintf(out, outlen, "%s", ref);
    json_decref(v);
    return ref != NULL;
}

void hbt_wd_find_ok(hbt_wd_t *wd, const char *css, char *out, size_t outlen)
{
    if (!hbt_wd_find(wd, css, out, outlen))
        fail_msg("no element matches %s", css);
}

void hbt_wd_text(hbt_wd_t *wd, const char *elem, char *out, size_t outlen)
{
    char path[256];
    snprintf(path, sizeof path, "/element/%s/text", elem);
    json_t *v = hbt_wd_ok(wd, "GET", path, NULL);
    snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(v);
}

void hbt_wd_click(hbt_wd_t *wd, const char *css)
{
    char elem[128], path[256];
    int64_t deadline = hbt_now_ms() + 5000;
    /* The page may draw itself anew between the find and the click: a
     * stale element is found again. */
    for (;;) {
        while (!hbt_wd_find(wd, css, elem, sizeof elem)) {
            if (hbt_now_ms() > deadline)
                fail_msg("nothing to click: no element matches %s", css);
            hbt_sleep_ms(30);
        }
        snprintf(path, sizeof path, "/element/%s/click", elem);
        int status;
        json_t *v = hbt_wd_cmd(wd, "POST", path, json_object(), &status);
        if (status == 200) {
            json_decref(v);
            return;
        }
        char *t = v ? json_dumps(v, JSON_COMPACT) : NULL;
        json_decref(v);
        if (hbt_now_ms() > deadline)
            fail_msg("click on %s answered %d: %.500s", css, status, t ? t : "");
        free(t);
        hbt_sleep_ms(30);
    }
}

void hbt_wd_type(hbt_wd_t *wd, const char *css, const char *text)
{
    char elem[128], path[256];
    hbt_wd_click(wd, css);
    hbt_wd_find_ok(wd, css, elem, sizeof elem);
    snprintf(path, sizeof path, "/element/%s/value", elem);
    json_decref(hbt_wd_ok(wd, "POST", path, json_pack("{s:s}", "text", text)));
}

void hbt_wd_new_window(hbt_wd_t *wd, char *out, size_t outlen)
{
    json_t *v = hbt_wd_ok(wd, "POST", "/window/new", json_pack("{s:s}", "type", "tab"));
    const char *h = json_string_value(json_object_get(v, "handle"));
    assert_non_null(h);
    snprintf(out, outlen, "%s", h);
    json_decref(v);
    hbt_wd_switch(wd, out);
}

void hbt_wd_window(hbt_wd_t *wd, char *out, size_t outlen)
{
    json_t *v = hbt_wd_ok(wd, "GET", "/window", NULL);
    snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(v);
}

void hbt_wd_switch(hbt_wd_t *wd, const char *handle)
{
    json_decref(hbt_wd_ok(wd, "POST", "/window", json_pack("{s:s}", "handle", handle)));
}

void hbt_wd_viewport(hbt_wd_t *wd, int width, int height)
{
    json_t *params = json_pack("{s:i, s:i, s:i, s:b}", "width", width, "height", height,
                               "deviceScaleFactor", 1, "mobile", 0);
    json_decref(hbt_wd_ok(wd, "POST", "/goog/cdp/execute",
                          json_pack("{s:s, s:o}", "cmd", "Emulation.setDeviceMetricsOverride",
                                    "params", params)));
    /* The page lays itself out again before the next command. */
    hbt_sleep_ms(150);
}

void hbt_wd_screenshot(hbt_wd_t *wd, const char *path)
{
    json_t *v = hbt_wd_ok(wd, "GET", "/screenshot", NULL);
    const char *b64 = json_string_value(v);
    assert_non_null(b64);
    size_t cap = strlen(b64), len = 0;
    unsigned char *png = malloc(cap);
    assert_non_null(png);
    assert_int_equal(sodium_base642bin(png, cap, b64, strlen(b64), "\n\r ", &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write the screenshot %s", path);
    assert_int_equal(fwrite(png, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(png);
    json_decref(v);
    fprintf(stderr, "screenshot: %s (%zu bytes)\n", path, len);
}

void hbt_wd_no_errors(hbt_wd_t *wd, const char *const *allowed)
{
    json_t *logs = hbt_wd_ok(wd, "POST", "/se/log", json_pack("{s:s}", "type", "browser"));
    size_t i;
    json_t *entry;
    json_array_foreach(logs, i, entry) {
        const char *msg = json_string_value(json_object_get(entry, "message"));
        const char *level = json_string_value(json_object_get(entry, "level"));
        if (!msg || !level || strcmp(level, "SEVERE") != 0)
            continue;
        bool ok = false;
        for (size_t k = 0; allowed && allowed[k] && !ok; k++)
            ok = strstr(msg, allowed[k]) != NULL;
        if (!ok)
            fail_msg("the browser logged: %s", msg);
    }
    json_decref(logs);
}
