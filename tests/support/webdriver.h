/* A WebDriver client for the browser tests: ChromeDriver started in its own
 * process group with headless Chromium, commands sent as JSON over HTTP with
 * the project's blocking client, and the small steps the tests take with it
 * (run a script, wait for one to be true, find, click, type, screenshot,
 * read the console, sign in through the dashboard's form). Every failure
 * fails the running cmocka test. Not here: what a test checks on a page. */
#ifndef HBT_WEBDRIVER_H
#define HBT_WEBDRIVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HBT_CHROMIUM "/usr/bin/chromium"
#define HBT_CHROMEDRIVER "/usr/bin/chromedriver"

typedef struct hbt_wd {
    pid_t driver;      /* leads its own process group: Chromium is in it too */
    char wd[64];       /* http://127.0.0.1:PORT of ChromeDriver */
    char session[128]; /* "" before hbt_wd_start */
} hbt_wd_t;

/* Whether Chromium and ChromeDriver are installed (else the test skips). */
bool hbt_wd_available(void);
/* Starts ChromeDriver (its log in `root`/chromedriver.log) and a headless
 * Chromium session (its profile under `root`). */
void hbt_wd_start(hbt_wd_t *b, const char *root);
/* Ends the session and the driver's whole process group; idempotent. */
void hbt_wd_stop(hbt_wd_t *b);
/* One command; its "value" (a new reference, may be NULL) and the status. */
/* Skips the calling test, saying why, where Chromium or its driver is not
 * installed. */
void hbt_wd_need(void);
json_t *hbt_wd(hbt_wd_t *b, const char *method, const char *path, json_t *body, int *status);
/* The same, failing the test unless the status is 200. `body` is taken. */
json_t *hbt_wd_ok(hbt_wd_t *b, const char *method, const char *path, json_t *body);
/* Opens `url` in the session. */
void hbt_wd_go(hbt_wd_t *b, const char *url);
/* Runs "return ..." in the page; its value, a new reference. */
json_t *hbt_wd_exec(hbt_wd_t *b, const char *script);
bool hbt_wd_exec_true(hbt_wd_t *b, const char *script);
/* Waits until a script returns true; false on timeout. */
bool hbt_wd_wait_true(hbt_wd_t *b, const char *script, int timeout_ms);
/* The element matching a CSS selector: its reference into `out`, or false. */
bool hbt_wd_find(hbt_wd_t *b, const char *css, char *out, size_t outlen);
void hbt_wd_find_ok(hbt_wd_t *b, const char *css, char *out, size_t outlen);
/* An attribute or property ("" when none); false when the element is gone. */
bool hbt_wd_attr(hbt_wd_t *b, const char *elem, const char *name, char *out, size_t outlen);
void hbt_wd_text(hbt_wd_t *b, const char *elem, char *out, size_t outlen);
void hbt_wd_click(hbt_wd_t *b, const char *elem);
/* Types `text` into an input after emptying it. */
void hbt_wd_type(hbt_wd_t *b, const char *elem, const char *text);
/* Finds by CSS and clicks (as hbt_wd_press) / types, failing when nothing
 * matches. */
void hbt_wd_click_css(hbt_wd_t *b, const char *css);
void hbt_wd_type_css(hbt_wd_t *b, const char *css, const char *text);
/* Saves what the browser shows as NAME.png in the working folder (the
 * build's tests/), for people to look at. */
void hbt_wd_screenshot(hbt_wd_t *b, const char *name);
/* The console since the last call: a SEVERE entry fails the test unless it
 * is a 404, or with `auth_401` the 401 of /v1/me or /v1/login (the sign-in
 * page's), or names `also` (a refusal the test provoked; NULL: none). */
void hbt_wd_console_clean(hbt_wd_t *b, bool auth_401, const char *also);
/* Signs in through the dashboard's form as a person does. */
void hbt_wd_sign_in(hbt_wd_t *b, const char *name, const char *password);
/* Opens the dashboard at `base` in `lang` ("zh-CN", "en"), signs out
 * whoever is signed in, and signs in as `name`, waiting until the page
 * says so. */
void hbt_wd_sign_in_at(hbt_wd_t *b, const char *base, const char *lang, const char *name,
                       const char *password);

/* ---- for pages that draw themselves anew (the hall's pages) */

/* Runs a script for what it does; its value is dropped. */
void hbt_wd_run(hbt_wd_t *b, const char *script);
/* The string a script returns, into `out` ("" when not a string). */
void hbt_wd_exec_str(hbt_wd_t *b, const char *script, char *out, size_t outlen);
/* hbt_wd_wait_true that fails the test with `what` and what the page shows
 * (its path, its notice, the start of its text) on timeout. */
/* The visible text of the first element matching `css`, found and read in
 * one step (a page that redraws itself cannot replace it in between);
 * fails when nothing matches. */
void hbt_wd_text_css(hbt_wd_t *b, const char *css, char *out, size_t outlen);
void hbt_wd_wait_ok(hbt_wd_t *b, const char *script, int timeout_ms, const char *what);
/* The same for one part of a page: on timeout the message has the start of
 * the text of the element whose id is `section` (the view under test). */
void hbt_wd_wait_in(hbt_wd_t *b, const char *section, const char *script, int timeout_ms,
                    const char *what);
/* A click on the first element matching `css`, waiting up to 5 s for it to
 * appear and finding it again when the page replaced it before the click
 * landed. */
void hbt_wd_press(hbt_wd_t *b, const char *css);
/* hbt_wd_press, then hbt_wd_wait_in: a step of a page that answers a
 * button by showing something. */
void hbt_wd_press_wait(hbt_wd_t *b, const char *css, const char *section, const char *script,
                       int timeout_ms, const char *what);
/* Opens a new window (a tab), makes it current, its handle into `out`;
 * the current window's handle; switching to one. */
void hbt_wd_new_window(hbt_wd_t *b, char *out, size_t outlen);
void hbt_wd_window(hbt_wd_t *b, char *out, size_t outlen);
void hbt_wd_switch(hbt_wd_t *b, const char *handle);
/* Sets the page's viewport to exactly `width` x `height` CSS pixels
 * (Chrome's device metrics), so that a screenshot has that size. */
void hbt_wd_viewport(hbt_wd_t *b, int width, int height);
/* Writes what the browser shows to `path` (PNG). */
void hbt_wd_screenshot_to(hbt_wd_t *b, const char *path);

#endif
