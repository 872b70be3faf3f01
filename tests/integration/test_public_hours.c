/* GET /v1/public/hours against a real hqd: no credentials needed; the
 * JSON answer names every hall of the organisation with the hours its
 * published policy gives; the iCalendar answer, read back by Debian's
 * python3-icalendar (tests/support/icscheck.py), has one event per opening
 * interval of the JSON; an unknown format, a bad day count, an unknown hall
 * are refused; the ETag comes back as 304 to If-None-Match and changes when
 * a new policy is published. */
#include "harness.h"

#include "hallbus/httpc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "runner.h"
#include "world.h"

#define PYTHON "/usr/bin/python3"
#define ICSCHECK HB_SOURCE_DIR "/tests/support/icscheck.py"

static const hbt_world_spec_t s_world = {.tag = "pubhours"};
#define HBT_FIXTURE hbt_world_setup, hbt_world_teardown, &s_world

static int s_port(const hbt_world_t *w)
{
    const char *colon = strrchr(w->hq.http, ':');
    return atoi(colon + 1);
}

/* One GET on its own connection with `extra` header lines ("" for none). */
static void s_get(const hbt_world_t *w, const char *path, const char *extra, hbt_sock_resp_t *r)
{
    char req[1024];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n", path,
             s_port(w), extra);
    assert_int_equal(hbt_sock_once(s_port(w), req, r), 0);
}

/* The value of header `name` (lower case, with its colon) in `head`. */
static void s_header(const char *head, const char *name, char *out, size_t outlen)
{
    const char *p = strcasestr(head, name);
    if (!p)
        fail_msg("no %s in:\n%s", name, head);
    p += strlen(name);
    p += strspn(p, " ");
    size_t n = strcspn(p, "\r\n");
    assert_true(n < outlen);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void s_setup_org(hbt_world_t *w)
{
    hbt_publish(w->hq.http,
                "{\"regions\":[{\"id\":\"CN\",\"name\":\"HQ\",\"level\":\"national\"},"
                "{\"id\":\"P1\",\"name\":\"East\",\"level\":\"province\",\"parent\":\"CN\"},"
                "{\"id\":\"SH\",\"name\":\"Shanghai\",\"level\":\"city\",\"parent\":\"P1\"}],"
                "\"halls\":[{\"id\":\"H1\",\"city\":\"SH\",\"name\":\"人民广场营业厅\"},"
                "{\"id\":\"H2\",\"city\":\"SH\",\"name\":\"Century Avenue\"}]}",
                "{\"timezone\":\"Asia/Shanghai\",\"opening_hours\":{\"mon\":[\"09:00-17:00\"],"
                "\"tue\":[\"09:00-17:00\"],\"wed\":[\"09:00-17:00\"],\"thu\":[\"09:00-17:00\"],"
                "\"fri\":[\"09:00-12:00\",\"13:00-17:00\"],\"sat\":[\"10:00-15:00\"],\"sun\":[]}}");
}

HBT_TEST(test_public_hours)
{
    hbt_world_t *w = *state;
    s_setup_org(w);

    /* JSON, without any credentials. */
    json_t *doc = hbt_req(w->hq.http, "GET", "/v1/public/hours?days=14", NULL, 200);
    json_t *halls = json_object_get(doc, "halls");
    assert_int_equal(json_array_size(halls), 2);
    size_t intervals = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *h = json_array_get(halls, i);
        assert_string_equal(hbt_str(h, "timezone"), "Asia/Shanghai");
        json_t *days = json_object_get(h, "days");
        assert_int_equal(json_array_size(days), 14);
        /* Two weeks hold 2 Sundays (closed), 2 Fridays (two intervals) and
         * 10 days of one interval each. */
        size_t closed = 0;
        for (size_t d = 0; d < 14; d++) {
            json_t *day = json_array_get(days, d);
            size_t n = json_array_size(json_object_get(day, "hours"));
            intervals += n;
            closed += n == 0;
            if (n == 0)
                assert_string_equal(hbt_str(day, "closed"), "closed_weekday");
        }
        assert_int_equal(closed, 2);
    }
    assert_int_equal(intervals, 2 * (2 * 2 + 10));

    /* iCalendar, read back. */
    hb_httpc_resp_t resp = {0};
    char err[256];
    assert_int_equal(hb_httpc_request(w->hq.http, "GET", "/v1/public/hours?format=ics&days=14",
                                      NULL, 10000, &resp, err, sizeof err),
                     0);
    assert_int_equal(resp.status, 200);
    char path[400];
    snprintf(path, sizeof path, "%s/hours.ics", w->root);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(resp.body, 1, resp.body_len, f), resp.body_len);
    fclose(f);
    hb_httpc_resp_free(&resp);
    static char out[1 << 20];
    int rc = hbt_run_args(out, sizeof out, PYTHON, ICSCHECK, path, NULL);
    if (rc != 0)
        fail_msg("icscheck.py (needs python3-icalendar: deploy/install-deps.sh): %d\n%s", rc, out);
    json_error_t jerr;
    json_t *ics = json_loads(out, 0, &jerr);
    assert_non_null(ics);
    json_t *events = json_object_get(ics, "events");
    assert_int_equal(json_array_size(events), intervals);
    for (size_t i = 0; i < json_array_size(events); i++) {
        json_t *ev = json_array_get(events, i);
        assert_string_equal(hbt_str(ev, "tzid"), "Asia/Shanghai");
        /* Every event starts at an opening time of the policy. */
        const char *hm = hbt_str(ev, "start") + 11;
        if (strcmp(hm, "09:00") != 0 && strcmp(hm, "13:00") != 0 && strcmp(hm, "10:00") != 0)
            fail_msg("an event starts at %s", hbt_str(ev, "start"));
    }
    json_decref(ics);
    json_decref(doc);

    /* Refusals. */
    hbt_refused(w->hq.http, "GET", "/v1/public/hours?format=xml", NULL, 400, "bad_format",
                "format must be json or ics");
    hbt_refused(w->hq.http, "GET", "/v1/public/hours?days=0", NULL, 400, "bad_request",
                "days must be 1 to 92");
    hbt_refused(w->hq.http, "GET", "/v1/public/hours?days=93", NULL, 400, "bad_request",
                "days must be 1 to 92");
    hbt_refused(w->hq.http, "GET", "/v1/public/hours?days=7x", NULL, 400, "bad_request",
                "days must be 1 to 92");
    hbt_refused(w->hq.http, "GET", "/v1/public/hours?hall=NOPE", NULL, 404, "not_found",
                "no hall NOPE");
    hbt_refused(w->hq.http, "GET", "/v1/public/hours?region=NOPE&format=ics", NULL, 404,
                "not_found", "no region NOPE");
    hbt_req_ok(w->hq.http, "POST", "/v1/public/hours", "{}", 405);
}

HBT_TEST(test_etag)
{
    hbt_world_t *w = *state;
    s_setup_org(w);
    static hbt_sock_resp_t r;
    s_get(w, "/v1/public/hours?hall=H1&days=2&format=ics", "", &r);
    assert_int_equal(r.status, 200);
    char etag[128], cc[128], type[128];
    s_header(r.head, "\r\netag:", etag, sizeof etag);
    s_header(r.head, "\r\ncache-control:", cc, sizeof cc);
    s_header(r.head, "\r\ncontent-type:", type, sizeof type);
    assert_string_equal(cc, "public, max-age=300");
    assert_string_equal(type, "text/calendar; charset=utf-8");
    assert_true(etag[0] == '"');
    hbt_assert_contains(r.body, "BEGIN:VCALENDAR\r\n");

    /* Asked again with the tag: 304, no body; weakly and in a list too. */
    char hdr[300];
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag);
    s_get(w, "/v1/public/hours?hall=H1&days=2&format=ics", hdr, &r);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    snprintf(hdr, sizeof hdr, "If-None-Match: \"other\", W/%s\r\n", etag);
    s_get(w, "/v1/public/hours?hall=H1&days=2&format=ics", hdr, &r);
    assert_int_equal(r.status, 304);
    /* Another query is another answer. */
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag);
    s_get(w, "/v1/public/hours?hall=H1&days=3&format=ics", hdr, &r);
    assert_int_equal(r.status, 200);
    s_get(w, "/v1/public/hours?hall=H1&days=2", hdr, &r);
    assert_int_equal(r.status, 200);

    /* A new version: the old tag no longer matches. */
    hbt_req_ok(w->hq.http, "PUT", "/v1/policies/halls/H1",
               "{\"opening_hours\":{\"sun\":[\"10:00-12:00\"]}}", 200);
    hbt_req_ok(w->hq.http, "POST", "/v1/policies/publish", "{}", 200);
    s_get(w, "/v1/public/hours?hall=H1&days=2&format=ics", hdr, &r);
    assert_int_equal(r.status, 200);
    char etag2[128];
    s_header(r.head, "\r\netag:", etag2, sizeof etag2);
    assert_string_not_equal(etag, etag2);
}
