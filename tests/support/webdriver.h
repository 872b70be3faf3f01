/* Headless Chromium for the browser tests, driven through ChromeDriver's
 * WebDriver protocol (JSON over HTTP, spoken with the project's blocking
 * client): start and stop the driver and its browser, run a script in the
 * page and wait for it to return true, find elements, click and type, open
 * and switch windows, set the viewport and take screenshots (PNG files).
 * Every call fails the test with what WebDriver answered when it goes
 * wrong. Not for what a test checks in a page: only how it reaches it. */
#ifndef HB_TEST_WEBDRIVER_H
#define HB_TEST_WEBDRIVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HBT_CHROMIUM "/usr/bin/chromium"
#define HBT_CHROMEDRIVER "/usr/bin/chromedriver"

typedef struct hbt_wd {
    pid_t driver;      /* leads its own process group: Chromium is in it too */
    char base[64];     /* http://127.0.0.1:PORT of ChromeDriver */
    char session[128]; /* "" before the session */
    char root[256];    /* the test's folder: the driver's log, the profile */
} hbt_wd_t;

/* Whether Chromium and ChromeDriver are installed; when not, prints why the
 * browser test is skipped. */
bool hbt_wd_available(void);
/* Starts ChromeDriver and a headless Chromium session (no sandbox, no GPU,
 * nothing that reaches the network, sound allowed without a touch) with a
 * window of `width` x `height`; its log and profile go under `root`. */
void hbt_wd_start(hbt_wd_t *wd, const char *root, int width, int height);
/* Ends the session and the driver's whole process group; idempotent. */
void hbt_wd_stop(hbt_wd_t *wd);

/* One command; its "value" (a new reference, NULL when none) and the HTTP
 * status in *status. */
json_t *hbt_wd_cmd(hbt_wd_t *wd, const char *method, const char *path, json_t *body,
                   int *status);
/* The same, failing the test unless WebDriver answered 200. */
json_t *hbt_wd_ok(hbt_wd_t *wd, const char *method, const char *path, json_t *body);

/* Loads `url` in the current window and waits for it (page load strategy
 * normal). */
void hbt_wd_open(hbt_wd_t *wd, const char *url);
/* Runs `script` in the page ("return ...;"); its value, a new reference. */
json_t *hbt_wd_exec(hbt_wd_t *wd, const char *script);
bool hbt_wd_exec_true(hbt_wd_t *wd, const char *script);
/* Runs `script` for what it does; its value is dropped. */
void hbt_wd_run(hbt_wd_t *wd, const char *script);
/* A string the script returns, into `out` ("" when not a string). */
void hbt_wd_exec_str(hbt_wd_t *wd, const char *script, char *out, size_t outlen);
/* Waits until `script` returns true; false on timeout. */
bool hbt_wd_wait(hbt_wd_t *wd, const char *script, int timeout_ms);
/* The same, failing the test with `what` on timeout. */
void hbt_wd_wait_ok(hbt_wd_t *wd, const char *script, int timeout_ms, const char *what);

/* The first element matching a CSS selector: its reference into `out`, or
 * false. */
bool hbt_wd_find(hbt_wd_t *wd, const char *css, char *out, size_t outlen);
void hbt_wd_find_ok(hbt_wd_t *wd, const char *css, char *out, size_t outlen);
/* An element's visible text. */
void hbt_wd_text(hbt_wd_t *wd, const char *elem, char *out, size_t outlen);
/* A real click (WebDriver's: scrolled into view, hit-tested) on the first
 * element matching `css`, waiting up to 5 s for it to appear. */
void hbt_wd_click(hbt_wd_t *wd, const char *css);
/* Types `text` into the first element matching `css` (after a click). */
void hbt_wd_type(hbt_wd_t *wd, const char *css, const char *text);

/* Opens a new window (a tab) and makes it current; its handle into `out`. */
void hbt_wd_new_window(hbt_wd_t *wd, char *out, size_t outlen);
/* The handle of the current window. */
void hbt_wd_window(hbt_wd_t *wd, char *out, size_t outlen);
void hbt_wd_switch(hbt_wd_t *wd, const char *handle);

/* Sets the page's viewport to exactly `width` x `height` CSS pixels
 * (Chrome's device metrics, so a screenshot has that size). */
void hbt_wd_viewport(hbt_wd_t *wd, int width, int height);
/* Writes a screenshot of the viewport to `path` (PNG). */
void hbt_wd_screenshot(hbt_wd_t *wd, const char *path);

/* Fails the test when the browser logged a SEVERE entry whose message has
 * none of the `allowed` texts (NULL-terminated list, may be NULL). */
void hbt_wd_no_errors(hbt_wd_t *wd, const char *const *allowed);

#endif
