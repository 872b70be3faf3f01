/* The browser tests' WebDriver client (see webdriver.h). */
#include "webdriver.h"

#include "harness.h"

#include "hallbus/httpc.h"

#include <sodium.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"

#define WD_ELEMENT "element-6066-11e4-a52e-4f735466cecf"

bool hbt_wd_available(void)
{
    return access(HBT_CHROMIUM, X_OK) == 0 && access(HBT_CHROMEDRIVER, X_OK) == 0;
}

/* One WebDriver command; returns its "value" (a new reference, NULL when
 * the answer has none) and the HTTP status in *status. */
void hbt_wd_need(void)
{
    if (hbt_wd_available())
        return;
    fprintf(stderr,
            "SKIPPED: %s or %s is not installed (deploy/install-deps.sh --browser installs "
            "Debian's chromium and chromium-driver)\n",
            HBT_CHROMIUM, HBT_CHROMEDRIVER);
    skip();
}

json_t *hbt_wd(hbt_wd_t *w, const char *method, const char *path, json_t *body, int *status)
{
    char full[512], err[256];
    if (w->session[0] && strncmp(path, "/session", 8) != 0)
        snprintf(full, sizeof full, "/session/%s%s", w->session, path);
    else
        snprintf(full, sizeof full, "%s", path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    hb_httpc_resp_t resp;
    int rc = hb_httpc_request(w->wd, method, full,
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

json_t *hbt_wd_ok(hbt_wd_t *w, const char *method, const char *path, json_t *body)
{
    int status;
    json_t *v = hbt_wd(w, method, path, body, &status);
    if (status != 200) {
        char *t = v ? json_dumps(v, JSON_COMPACT) : NULL;
        fail_msg("WebDriver %s %s answered %d: %.500s", method, path, status, t ? t : "");
    }
    return v;
}

/* Runs a script in the page ("return ..."); its value, a new reference. */
json_t *hbt_wd_exec(hbt_wd_t *w, const char *script)
{
    return hbt_wd_ok(w, "POST", "/execute/sync",
                     json_pack("{s:s, s:[]}", "script", script, "args"));
}

bool hbt_wd_exec_true(hbt_wd_t *w, const char *script)
{
    json_t *v = hbt_wd_exec(w, script);
    bool t = json_is_true(v);
    json_decref(v);
    return t;
}

/* Waits until a script returns true; false on timeout. */
bool hbt_wd_wait_true(hbt_wd_t *w, const char *script, int timeout_ms)
{
    int64_t deadline = hbt_now_ms() + timeout_ms;
    do {
        if (hbt_wd_exec_true(w, script))
            return true;
        hbt_sleep_ms(20);
    } while (hbt_now_ms() < deadline);
    return false;
}

/* The element matching a CSS selector: its reference into `out`, or false. */
bool hbt_wd_find(hbt_wd_t *w, const char *css, char *out, size_t outlen)
{
    int status;
    json_t *v = hbt_wd(w, "POST", "/element",
                       json_pack("{s:s, s:s}", "using", "css selector", "value", css), &status);
    const char *ref = status == 200 ? json_string_value(json_object_get(v, WD_ELEMENT)) : NULL;
    if (ref)
        snprintf(out, outlen, "%s", ref);
    json_decref(v);
    return ref != NULL;
}

void hbt_wd_find_ok(hbt_wd_t *w, const char *css, char *out, size_t outlen)
{
    if (!hbt_wd_find(w, css, out, outlen))
        fail_msg("no element matches %s", css);
}

/* An attribute or property of an element ("" when it has none); false when
 * the element is gone (stale). */
bool hbt_wd_attr(hbt_wd_t *w, const char *elem, const char *name, char *out, size_t outlen)
{
    char path[256];
    int status;
    snprintf(path, sizeof path, "/element/%s/attribute/%s", elem, name);
    json_t *v = hbt_wd(w, "GET", path, NULL, &status);
    snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(v);
    return status == 200;
}

void hbt_wd_text(hbt_wd_t *w, const char *elem, char *out, size_t outlen)
{
    char path[256];
    snprintf(path, sizeof path, "/element/%s/text", elem);
    json_t *v = hbt_wd_ok(w, "GET", path, NULL);
    snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(v);
}

void hbt_wd_click(hbt_wd_t *w, const char *elem)
{
    char path[256];
    snprintf(path, sizeof path, "/element/%s/click", elem);
    json_decref(hbt_wd_ok(w, "POST", path, json_object()));
}

/* Types `text` into an input, after emptying it. */
void hbt_wd_type(hbt_wd_t *w, const char *elem, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "/element/%s/clear", elem);
    json_decref(hbt_wd_ok(w, "POST", path, json_object()));
    snprintf(path, sizeof path, "/element/%s/value", elem);
    json_decref(hbt_wd_ok(w, "POST", path, json_pack("{s:s}", "text", text)));
}

/* Saves what the browser shows as NAME.png in the working folder (the
 * build's tests/), for people to look at; the test does not judge it. */
void hbt_wd_screenshot(hbt_wd_t *w, const char *name)
{
    char file[128];
    snprintf(file, sizeof file, "%s.png", name);
    hbt_wd_screenshot_to(w, file);
}

/* The browser's console since the last call. A SEVERE entry fails the test
 * unless it is a 404 of a route this hqd lacks, or, when `auth_401` is
 * true, the 401 of asking who is signed in or of a wrong password (what
 * the sign-in page gets before anyone signs in), or names `also` (a
 * refusal the test provoked; NULL: none). */
void hbt_wd_console_clean(hbt_wd_t *w, bool auth_401, const char *also)
{
    json_t *logs = hbt_wd_ok(w, "POST", "/se/log", json_pack("{s:s}", "type", "browser"));
    size_t i;
    json_t *entry;
    json_array_foreach (logs, i, entry) {
        const char *msg = json_string_value(json_object_get(entry, "message"));
        const char *level = json_string_value(json_object_get(entry, "level"));
        if (!msg || !level || strcmp(level, "SEVERE") != 0 || strstr(msg, "404"))
            continue;
        if (auth_401 && strstr(msg, "401") && (strstr(msg, "/v1/me") || strstr(msg, "/v1/login")))
            continue;
        if (also && strstr(msg, also))
            continue;
        fail_msg("the browser logged: %s", msg);
    }
    json_decref(logs);
}

/* Signs in through the page's form as a person does: the name and the
 * password typed, the button clicked. */
void hbt_wd_sign_in(hbt_wd_t *w, const char *name, const char *password)
{
    char in[128], pw[128], button[128];
    if (!hbt_wd_wait_true(w,
                          "return document.body.dataset.auth === 'out' &&"
                          " !document.getElementById('signin').hidden;",
                          10000))
        fail_msg("the sign-in form was not shown within 10 s");
    hbt_wd_find_ok(w, "#signin-name", in, sizeof in);
    hbt_wd_find_ok(w, "#signin-password", pw, sizeof pw);
    hbt_wd_find_ok(w, "#signin-submit", button, sizeof button);
    hbt_wd_type(w, in, name);
    hbt_wd_type(w, pw, password);
    hbt_wd_click(w, button);
}

void hbt_wd_sign_in_at(hbt_wd_t *w, const char *base, const char *lang, const char *name,
                       const char *password)
{
    char url[256];
    snprintf(url, sizeof url, "%s/?lang=%s", base, lang);
    hbt_wd_go(w, url);
    hbt_wd_wait_ok(w,
                   "return document.body.dataset.auth === 'in' ||"
                   " document.body.dataset.auth === 'out';",
                   10000, "the page knowing who is signed in");
    if (hbt_wd_exec_true(w, "return document.body.dataset.auth === 'in';")) {
        hbt_wd_click_css(w, "#signout");
        hbt_wd_wait_ok(w, "return document.body.dataset.auth === 'out';", 10000, "signing out");
    }
    hbt_wd_sign_in(w, name, password);
    hbt_wd_wait_ok(w, "return document.body.dataset.auth === 'in';", 10000, "signing in");
}

void hbt_wd_stop(hbt_wd_t *w)
{
    if (w->session[0]) {
        char path[200], err[256];
        hb_httpc_resp_t resp;
        snprintf(path, sizeof path, "/session/%s", w->session);
        if (hb_httpc_request(w->wd, "DELETE", path, NULL, 20000, &resp, err, sizeof err) == 0)
            hb_httpc_resp_free(&resp);
        w->session[0] = '\0';
    }
    if (w->driver > 0) {
        /* The whole group: ChromeDriver and any browser it left behind. */
        kill(-w->driver, SIGTERM);
        int64_t deadline = hbt_now_ms() + 5000;
        while (waitpid(w->driver, NULL, WNOHANG) == 0 && hbt_now_ms() < deadline)
            hbt_sleep_ms(20);
        kill(-w->driver, SIGKILL);
        waitpid(w->driver, NULL, WNOHANG);
        w->driver = 0;
    }
}

void hbt_wd_start(hbt_wd_t *w, const char *root)
{
    int port = hbt_free_port();
    char log[400], portarg[32];
    snprintf(log, sizeof log, "%s/chromedriver.log", root);
    snprintf(portarg, sizeof portarg, "--port=%d", port);
    snprintf(w->wd, sizeof w->wd, "http://127.0.0.1:%d", port);
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
    w->driver = pid;
    int64_t deadline = hbt_now_ms() + 20000;
    bool ready = false;
    while (!ready && hbt_now_ms() < deadline) {
        json_t *st = NULL;
        if (hbt_http(w->wd, "GET", "/status", NULL, &st) == 200)
            ready = json_is_true(json_object_get(json_object_get(st, "value"), "ready"));
        json_decref(st);
        if (!ready)
            hbt_sleep_ms(50);
    }
    if (!ready)
        fail_msg("chromedriver did not come up; see %s", log);

    /* The flags that work on this kind of machine (see the machine notes):
     * no sandbox as root, no GPU, and nothing that reaches the network. */
    char udd[400];
    snprintf(udd, sizeof udd, "--user-data-dir=%s/chromium-profile", root);
    json_t *args =
        json_pack("[s, s, s, s, s, s, s, s, s, s, s]", "--headless", "--no-sandbox",
                  "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000", udd);
    json_t *caps = json_pack("{s:{s:{s:s, s:s, s:{s:s, s:o}}}}", "capabilities", "alwaysMatch",
                             "browserName", "chrome", "pageLoadStrategy", "normal",
                             "goog:chromeOptions", "binary", HBT_CHROMIUM, "args", args);
    int64_t t0 = hbt_now_ms();
    json_t *v = hbt_wd_ok(w, "POST", "/session", caps);
    const char *sid = json_string_value(json_object_get(v, "sessionId"));
    assert_non_null(sid);
    snprintf(w->session, sizeof w->session, "%s", sid);
    const char *version =
        json_string_value(json_object_get(json_object_get(v, "capabilities"), "browserVersion"));
    fprintf(stderr, "browser: Chromium %s, session started in %lld ms\n", version ? version : "?",
            (long long)(hbt_now_ms() - t0));
    json_decref(v);
}

void hbt_wd_go(hbt_wd_t *w, const char *url)
{
    json_decref(hbt_wd_ok(w, "POST", "/url", json_pack("{s:s}", "url", url)));
}

/* Finds `css` and clicks it, as hbt_wd_press does: a page that draws
 * itself anew (a list refreshed from the server) may replace the element
 * between the find and the click, and WebDriver then answers "stale element
 * reference"; the click goes to the element now there, as a person would
 * touch the button again (test_workspace failed on CI that way). */
void hbt_wd_click_css(hbt_wd_t *w, const char *css) { hbt_wd_press(w, css); }

void hbt_wd_type_css(hbt_wd_t *w, const char *css, const char *text)
{
    char e[128];
    hbt_wd_find_ok(w, css, e, sizeof e);
    hbt_wd_type(w, e, text);
}

/* ---- for pages that draw themselves anew */

void hbt_wd_run(hbt_wd_t *w, const char *script) { json_decref(hbt_wd_exec(w, script)); }

void hbt_wd_exec_str(hbt_wd_t *w, const char *script, char *out, size_t outlen)
{
    json_t *v = hbt_wd_exec(w, script);
    snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(v);
}

void hbt_wd_text_css(hbt_wd_t *w, const char *css, char *out, size_t outlen)
{
    /* One script finds and reads: nothing the page redraws can come
     * between the two, as it can between a find and a text request. */
    json_t *v = hbt_wd_ok(w, "POST", "/execute/sync",
                          json_pack("{s:s, s:[s]}", "script",
                                    "const e = document.querySelector(arguments[0]);"
                                    " return e ? e.innerText : null;",
                                    "args", css));
    if (!json_is_string(v)) {
        json_decref(v);
        fail_msg("no element matches %s", css);
    }
    snprintf(out, outlen, "%s", json_string_value(v));
    json_decref(v);
}

void hbt_wd_wait_ok(hbt_wd_t *w, const char *script, int timeout_ms, const char *what)
{
    if (hbt_wd_wait_true(w, script, timeout_ms))
        return;
    char shows[2048];
    hbt_wd_exec_str(w,
                    "return location.pathname + ' | notice: ' +"
                    " (document.getElementById('notice')?.textContent || '') + ' | main: ' +"
                    " (document.querySelector('main')?.innerText || '').slice(0, 1200);",
                    shows, sizeof shows);
    fail_msg("%s (within %d ms); the page shows: %s", what, timeout_ms, shows);
}

void hbt_wd_wait_in(hbt_wd_t *w, const char *section, const char *script, int timeout_ms,
                    const char *what)
{
    if (hbt_wd_wait_true(w, script, timeout_ms))
        return;
    char read[256], shows[2048];
    snprintf(read, sizeof read,
             "const s = document.getElementById('%s'); return s ? s.innerText.slice(0, 1500) : '';",
             section);
    hbt_wd_exec_str(w, read, shows, sizeof shows);
    fail_msg("%s (not within %d ms); #%s shows: %s", what, timeout_ms, section, shows);
}

void hbt_wd_press_wait(hbt_wd_t *w, const char *css, const char *section, const char *script,
                       int timeout_ms, const char *what)
{
    hbt_wd_press(w, css);
    hbt_wd_wait_in(w, section, script, timeout_ms, what);
}

void hbt_wd_press(hbt_wd_t *w, const char *css)
{
    char elem[128], path[256];
    int64_t deadline = hbt_now_ms() + 5000;
    for (;;) {
        while (!hbt_wd_find(w, css, elem, sizeof elem)) {
            if (hbt_now_ms() > deadline)
                fail_msg("nothing to click: no element matches %s", css);
            hbt_sleep_ms(30);
        }
        snprintf(path, sizeof path, "/element/%s/click", elem);
        int status;
        json_t *v = hbt_wd(w, "POST", path, json_object(), &status);
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

void hbt_wd_new_window(hbt_wd_t *w, char *out, size_t outlen)
{
    json_t *v = hbt_wd_ok(w, "POST", "/window/new", json_pack("{s:s}", "type", "tab"));
    const char *h = json_string_value(json_object_get(v, "handle"));
    assert_non_null(h);
    snprintf(out, outlen, "%s", h);
    json_decref(v);
    hbt_wd_switch(w, out);
}

void hbt_wd_window(hbt_wd_t *w, char *out, size_t outlen)
{
    json_t *v = hbt_wd_ok(w, "GET", "/window", NULL);
    snprintf(out, outlen, "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(v);
}

void hbt_wd_switch(hbt_wd_t *w, const char *handle)
{
    json_decref(hbt_wd_ok(w, "POST", "/window", json_pack("{s:s}", "handle", handle)));
}

void hbt_wd_viewport(hbt_wd_t *w, int width, int height)
{
    json_t *params = json_pack("{s:i, s:i, s:i, s:b}", "width", width, "height", height,
                               "deviceScaleFactor", 1, "mobile", 0);
    json_decref(hbt_wd_ok(
        w, "POST", "/goog/cdp/execute",
        json_pack("{s:s, s:o}", "cmd", "Emulation.setDeviceMetricsOverride", "params", params)));
    /* The page lays itself out again before the next command. */
    hbt_sleep_ms(150);
}

void hbt_wd_screenshot_to(hbt_wd_t *w, const char *path)
{
    json_t *v = hbt_wd_ok(w, "GET", "/screenshot", NULL);
    const char *b64 = json_string_value(v);
    assert_non_null(b64);
    size_t cap = strlen(b64), len = 0;
    unsigned char *png = malloc(cap);
    assert_non_null(png);
    assert_int_equal(sodium_base642bin(png, cap, b64, strlen(b64), "\n\r ", &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    json_decref(v);
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write the screenshot %s", path);
    assert_int_equal(fwrite(png, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(png);
    fprintf(stderr, "screenshot: %s (%zu bytes)\n", path, len);
}
