/* The dashboard's enrolment page (hqd/dashboard/enrol.js) in a real
 * browser, against a real hqd: two halls made their own key pairs and
 * requests with `branchd enroll`, filed for approval; the admin sees both
 * with their key fingerprints (the ones branchd printed), approves one into
 * a city picked from the organisation, and rejects the other with a reason
 * (a rejection without one is refused in the page); the approved hall is
 * listed with its certificate's expiry, the rejection's reason is in the
 * audit log. A bulk registration from CSV text shows each hall's one-time
 * code once, and so does one from a CSV file chosen with the page's own
 * button (in the page's language, not the browser's "Choose File"), which
 * the keyboard opens too. Revoking asks first, then the hall shows revoked. A viewer
 * sees no enrolment tab, and HQ refuses the page's route to them anyway.
 * In Chinese, then in English. Screenshots go to the build's tests/
 * folder. Skipped, saying why, without /usr/bin/chromium or
 * /usr/bin/chromedriver. */
#include "browser_fx.h"
#include "harness.h"

#include "hallbus/fs.h"
#include "webdriver.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"

typedef struct {
    char root[256];
    hbt_hq_t hq;
    hbt_wd_t b;
    char fp[2][32]; /* the fingerprints branchd enroll printed */
} world_t;

static const char *const s_halls[2] = {"N01", "N02"};

/* branchd enroll for `hall`, its request filed for approval at HQ. */
static void s_file_request(world_t *w, int i)
{
    char dir[400], out[4096], req[500];
    snprintf(dir, sizeof dir, "%s/hall-%s", w->root, s_halls[i]);
    if (hbt_run_args(out, sizeof out, HB_BIN_DIR "/branchd/branchd", "enroll", "--hall", s_halls[i],
                     "--hq-endpoint", w->hq.endpoint, "--out", dir, "--region", "C002",
                     (char *)NULL) != 0)
        fail_msg("branchd enroll: %s", out);
    const char *at = strstr(out, "key fingerprint: ");
    assert_non_null(at);
    assert_int_equal(sscanf(at + strlen("key fingerprint: "), "%31s", w->fp[i]), 1);
    snprintf(req, sizeof req, "%s/enrolment-request.txt", dir);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(hb_file_read_small(req, 8192, &text, &len), 0);
    json_t *body = json_pack("{s:s, s:b}", "request", text, "approve", 0);
    char *b = json_dumps(body, 0);
    assert_int_equal(hbt_http(w->hq.http, "POST", "/v1/enrolments", b, NULL), 202);
    free(b);
    json_decref(body);
    free(text);
}

static int s_setup(void **state)
{
    world_t *w = calloc(1, sizeof *w);
    hbt_hq_halls_start("enrolpage", w->root, sizeof w->root, &w->hq, NULL, NULL, 0);
    assert_int_equal(hbt_http(w->hq.http, "PUT", "/v1/org", HBT_REGIONS_ZH "\"halls\":[]}", NULL),
                     200);
    for (int i = 0; i < 2; i++)
        s_file_request(w, i);
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    world_t *w = *state;
    hbt_hq_halls_stop(&w->b, w->root, &w->hq, NULL, 0);
    free(w);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

static void s_wait(world_t *w, const char *script, int ms, const char *what)
{
    hbt_wd_wait_in(&w->b, "enrol", script, ms, what);
}

/* Presses `css` and waits as s_wait. */
static void s_press(world_t *w, const char *css, const char *script, int ms, const char *what)
{
    hbt_wd_press_wait(&w->b, css, "enrol", script, ms, what);
}

/* No key of the catalogue shown as itself, and none missing. */
static void s_all_worded(world_t *w)
{
    json_t *m = hbt_wd_exec(&w->b, "return window.hbDashboard.i18n.missing().join(', ');");
    const char *missing = json_string_value(m);
    if (missing && missing[0])
        fail_msg("texts missing from the catalogue: %s", missing);
    json_decref(m);
}

/* Where a step ends: every text of the page in the catalogue, a
 * screenshot named `shot`, and nothing failed in the console. */
static void s_settled(world_t *w, const char *shot)
{
    s_all_worded(w);
    hbt_wd_screenshot(&w->b, shot);
    hbt_wd_console_clean(&w->b, true, NULL);
}

static void s_open_page(world_t *w)
{
    s_wait(w, "return !document.getElementById('tab-enrol').hidden;", 10000,
           "the enrolment tab for an admin");
    s_press(w, "#tab-enrol",
            "return !document.getElementById('view-enrol').hidden &&"
            " !!document.getElementById('enrol-pending') &&"
            " (document.querySelectorAll('#enrol-pending-table tbody tr').length > 0 ||"
            "  !!document.getElementById('enrol-none'));",
            10000, "the enrolment page");
}

/* The admin, in Chinese: both requests with their fingerprints; one
 * approved into C001, the other rejected with a reason. */
static void s_admin_decides(world_t *w)
{
    hbt_wd_sign_in_at(&w->b, w->hq.http, "zh-CN", "admin", "admin-pass-1");
    s_open_page(w);
    char script[600];
    for (int i = 0; i < 2; i++) {
        snprintf(script, sizeof script,
                 "const r = document.querySelector('#enrol-pending-table tr[data-hall=\"%s\"]');"
                 " return !!r && r.querySelector('.enrol-fp').textContent === '%s' &&"
                 " r.cells[1].textContent === 'C002';",
                 s_halls[i], w->fp[i]);
        s_wait(w, script, 5000, "a pending request with the fingerprint branchd printed");
    }
    /* The city picker holds the organisation's cities, the asked one chosen. */
    assert_true(hbt_wd_exec_true(
        &w->b, "const s = document.querySelector('tr[data-hall=\"N01\"] .enrol-region');"
               " return s.value === 'C002' && [...s.options].some((o) => o.value === 'C001' &&"
               " o.textContent.includes('港湾市'));"));
    hbt_wd_screenshot(&w->b, "enrol-zh-pending");
    /* Approved into another city than asked: head office's choice wins. */
    hbt_wd_exec_true(&w->b,
                     "const s = document.querySelector('tr[data-hall=\"N01\"] .enrol-region');"
                     " s.value = 'C001'; s.dispatchEvent(new Event('change')); return true;");
    s_press(w, "tr[data-hall=\"N01\"] .enrol-approve",
            "return document.getElementById('enrol-status').dataset.state === 'ok' &&"
            " !document.querySelector('#enrol-pending-table tr[data-hall=\"N01\"]') &&"
            " !!document.querySelector('#enrol-halls-table "
            "tr[data-hall=\"N01\"][data-state=\"active\"]');",
            10000, "N01 approved and listed as enrolled");
    assert_true(hbt_wd_exec_true(
        &w->b, "const r = document.querySelector('#enrol-halls-table tr[data-hall=\"N01\"]');"
               " return r.cells[1].textContent === 'C001' && r.cells[2].textContent === '1' &&"
               " r.cells[3].textContent !== '–' && r.cells[4].textContent === '有效';"));
    json_t *h = hbt_get(w->hq.http, "/v1/org/halls/N01");
    assert_string_equal(json_string_value(json_object_get(json_object_get(h, "hall"), "city")),
                        "C001");
    json_decref(h);
    /* Rejecting asks for a reason; without one the page says so and
     * nothing is sent. */
    s_press(w, "tr[data-hall=\"N02\"] .enrol-reject",
            "return !document.querySelector('tr[data-hall=\"N02\"] .enrol-reason').hidden;", 3000,
            "the reason field");
    s_press(w, "tr[data-hall=\"N02\"] .enrol-reject-confirm",
            "return document.getElementById('enrol-status').dataset.state === 'errors' &&"
            " document.getElementById('enrol-status').textContent.includes('N02');",
            3000, "a rejection without a reason refused in the page");
    hbt_wd_type_css(&w->b, "tr[data-hall=\"N02\"] .enrol-reason", "不是本行的营业厅");
    hbt_wd_screenshot(&w->b, "enrol-zh-reject");
    s_press(w, "tr[data-hall=\"N02\"] .enrol-reject-confirm",
            "return document.getElementById('enrol-status').dataset.state === 'ok' &&"
            " !!document.getElementById('enrol-none');",
            10000, "N02 rejected, nothing left waiting");
    json_t *audit = hbt_get(w->hq.http, "/v1/audit?object=N02&limit=5");
    json_t *rec = json_array_get(json_object_get(audit, "records"), 0);
    assert_string_equal(json_string_value(json_object_get(rec, "reason")), "不是本行的营业厅");
    assert_string_equal(json_string_value(json_object_get(rec, "who")), "admin");
    json_decref(audit);
    s_settled(w, "enrol-zh-decided");
}

/* The CSV file chooser: the page's own button and the chosen file's name
 * in the page's words (`choose`, `none`); Enter on the button opens the
 * file input (its dialog held back here: there is no one to answer it); a
 * file given to the input fills the CSV text, and registering it shows each
 * hall's code once. */
static void s_choose_file(world_t *w, const char *choose, const char *none)
{
    char script[700];
    snprintf(script, sizeof script,
             "const b = document.getElementById('enrol-csv-choose'),"
             " n = document.getElementById('enrol-csv-name'),"
             " f = document.getElementById('enrol-csv-file');"
             " const r = f.getBoundingClientRect();"
             " return b.tagName === 'BUTTON' && b.tabIndex === 0 && b.textContent === '%s' &&"
             " n.textContent === '%s' && f.tabIndex === -1 && r.width <= 1 && r.height <= 1 &&"
             " b.getAttribute('aria-describedby') === 'enrol-csv-name';",
             choose, none);
    s_wait(w, script, 3000, "the page's own file button and the words for no file");
    /* The keyboard: Enter on the focused button opens the file input. */
    hbt_wd_run(&w->b,
               "window.fileOpened = 0; document.getElementById('enrol-csv-file')"
               ".addEventListener('click', (e) => { window.fileOpened++; e.preventDefault(); },"
               " {once: true}); document.getElementById('enrol-csv-choose').focus();");
    char elem[128], path[400];
    hbt_wd_find_ok(&w->b, "#enrol-csv-choose", elem, sizeof elem);
    snprintf(path, sizeof path, "/element/%s/value", elem);
    json_decref(hbt_wd_ok(&w->b, "POST", path, json_pack("{s:s}", "text", "\xee\x80\x87")));
    s_wait(w, "return window.fileOpened === 1;", 3000,
           "Enter on the button opening the file input");
    /* A file chosen: its name shown, its text in the CSV field. */
    char csv[400];
    snprintf(csv, sizeof csv, "%s/新营业厅.csv", w->root);
    hbt_write_file(csv, "hall,region,name\nN12,C001,港湾十二号\nN13,C002,山城十三号\n");
    hbt_wd_find_ok(&w->b, "#enrol-csv-file", elem, sizeof elem);
    snprintf(path, sizeof path, "/element/%s/value", elem);
    json_decref(hbt_wd_ok(&w->b, "POST", path, json_pack("{s:s}", "text", csv)));
    s_wait(w,
           "return document.getElementById('enrol-csv-name').textContent === '新营业厅.csv' &&"
           " document.getElementById('enrol-csv').value.includes('N13,C002');",
           5000, "the chosen file's name and its text in the CSV field");
    s_press(w, "#enrol-register",
            "return [...document.querySelectorAll('#enrol-codes-table tbody tr')]"
            ".map((r) => r.cells[0].textContent).join(' ') === 'N12 N13';",
            10000, "the file's two halls registered, their codes shown");
    unlink(csv);
}

/* Bulk registration from CSV text: a bad line is named, a good CSV shows
 * each hall's code once. Then a revocation, asked first. */
static void s_admin_bulk_and_revoke(world_t *w)
{
    hbt_wd_type_css(&w->b, "#enrol-csv", "hall,region\nN10,C001\nbad id!,C001\n");
    s_press(w, "#enrol-register",
            "return document.getElementById('enrol-status').dataset.state === 'errors' &&"
            " document.getElementById('enrol-status').textContent.includes('3');",
            3000, "the bad CSV line named");
    hbt_wd_type_css(&w->b, "#enrol-csv",
                    "hall,region,name,address\nN10,C001,港湾十号,\"海港路 10 号, "
                    "港湾\"\nN11,C002,山城十一号,\n");
    s_press(w, "#enrol-register",
            "return document.querySelectorAll('#enrol-codes-table tbody tr').length === 2 &&"
            " !!document.getElementById('enrol-codes-download') &&"
            " !!document.getElementById('enrol-registered');",
            10000, "two one-time codes shown");
    char code[64]; /* "" when the cell is missing */
    hbt_wd_exec_str(&w->b,
                    "return document.querySelector('#enrol-codes-table tbody tr td"
                    " + td').textContent;",
                    code, sizeof code);
    assert_int_equal(strlen(code), 23); /* xxxxx-xxxxx-xxxxx-xxxxx */
    hbt_wd_screenshot(&w->b, "enrol-zh-codes");
    s_choose_file(w, "选择 CSV 文件…", "未选择文件");
    hbt_wd_screenshot(&w->b, "enrol-zh-file");
    /* Revoke asks first; cancelled, nothing happens. */
    s_press(w, "tr[data-hall=\"N01\"] .enrol-revoke",
            "return !document.querySelector('tr[data-hall=\"N01\"] .enrol-confirm').hidden;", 3000,
            "the revocation's question");
    hbt_wd_screenshot(&w->b, "enrol-zh-revoke-ask");
    hbt_wd_click_css(&w->b, "tr[data-hall=\"N01\"] .enrol-revoke-cancel");
    json_t *list = hbt_get(w->hq.http, "/v1/enrolments");
    assert_int_equal(json_array_size(json_object_get(list, "enrolled")), 1);
    json_decref(list);
    hbt_wd_click_css(&w->b, "tr[data-hall=\"N01\"] .enrol-revoke");
    s_press(w, "tr[data-hall=\"N01\"] .enrol-revoke-confirm",
            "return document.getElementById('enrol-status').dataset.state === 'ok' &&"
            " !!document.querySelector('#enrol-halls-table "
            "tr[data-hall=\"N01\"][data-state=\"revoked\"]') &&"
            " !document.querySelector('tr[data-hall=\"N01\"] .enrol-revoke');",
            10000, "N01 listed as revoked, with nothing more to do");
    list = hbt_get(w->hq.http, "/v1/enrolments");
    assert_int_equal(json_array_size(json_object_get(list, "enrolled")), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(list, "revoked"), 0), "hall")),
                        "N01");
    json_decref(list);
    s_settled(w, "enrol-zh-revoked");
}

/* The same page in English. */
static void s_english(world_t *w)
{
    hbt_wd_sign_in_at(&w->b, w->hq.http, "en", "admin", "admin-pass-1");
    s_open_page(w);
    s_wait(w,
           "return document.getElementById('enrol').innerText.includes('Requests waiting for "
           "approval') && document.getElementById('enrol').innerText.includes('Bulk "
           "enrolment from a CSV');",
           5000, "the page in English");
    assert_true(hbt_wd_exec_true(
        &w->b, "return document.getElementById('enrol-csv-choose').textContent === "
               "'Choose a CSV file…' && document.getElementById('enrol-csv-name').textContent"
               " === 'No file chosen';"));
    s_settled(w, "enrol-en");
}

/* A viewer: no tab, and HQ refuses the route all the same. */
static void s_viewer(world_t *w, const char *token)
{
    hbt_wd_sign_in_at(&w->b, w->hq.http, "zh-CN", "vera", "vera-pass-1");
    /* The page is up (the network view loads) and the tab stays hidden. */
    s_wait(w, "return !document.getElementById('tab-network').hidden;", 10000, "the viewer's page");
    hbt_sleep_ms(300);
    assert_true(hbt_wd_exec_true(&w->b, "return document.getElementById('tab-enrol').hidden &&"
                                        " document.getElementById('view-enrol').hidden;"));
    hbt_wd_screenshot(&w->b, "enrol-viewer");
    json_t *out = NULL;
    assert_int_equal(hbt_http_as(w->hq.http, token, NULL, "GET", "/v1/enrolments", NULL, &out),
                     403);
    json_decref(out);
    assert_int_equal(hbt_http_as(w->hq.http, token, NULL, "POST", "/v1/enrolments/N02/reject",
                                 "{\"reason\":\"x\"}", &out),
                     403);
    json_decref(out);
    hbt_wd_console_clean(&w->b, true, NULL);
}

HBT_TEST(test_enrol_page)
{
    world_t *w = *state;
    hbt_wd_need();
    char tok[64];
    hbt_hq_password(&w->hq, "admin", "admin-pass-1");
    hbt_hq_user(&w->hq, "vera", tok, "--role", "viewer", NULL);
    hbt_hq_password(&w->hq, "vera", "vera-pass-1");
    hbt_wd_start(&w->b, w->root);
    s_admin_decides(w);
    s_admin_bulk_and_revoke(w);
    s_english(w);
    s_viewer(w, tok);
    hbt_wd_stop(&w->b);
}
