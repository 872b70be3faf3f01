/* branchd's handlers for staff: signing in and out at a counter terminal
 * (with the PIN, counted and locked as access.h says), and the hall's staff
 * list kept by the duty manager's tablet. The guard (guard.c) has already
 * let only the right callers through: a terminal signs in at its own
 * counter, staff.manage is the manager's. docs/API.md has each route. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------- sign-in ---- */

void branchd_api_signin(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const access_caller_t *c = branchd_caller(req);
    const char *counter = hb_http_param(req, "counter");
    static const body_member_t m[] = {{"staff", JSON_STRING, true}, {"pin", JSON_STRING, true}};
    json_t *b = branchd_api_body(d, req, m, 2);
    if (!b)
        return;
    const char *staff = branchd_api_str(b, "staff"), *pin = branchd_api_str(b, "pin");
    if (!access_id_ok(staff) || !access_pin_ok(pin)) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request",
                            "staff must be a staff id and pin %d to %d digits", ACCESS_PIN_MIN,
                            ACCESS_PIN_MAX);
        goto out;
    }
    int64_t retry_ms;
    bool terminal;
    int rc = access_pin_check(d->access, c->device.name, staff, pin, &retry_ms, &terminal);
    if (rc == HB_EAGAIN) {
        json_int_t retry_s = (json_int_t)((retry_ms + 999) / 1000);
        char why[256];
        if (terminal)
            snprintf(why, sizeof why,
                     "this terminal is locked after %d wrong PINs: try again in %lld s",
                     ACCESS_TERMINAL_TRIES, (long long)retry_s);
        else
            snprintf(why, sizeof why, "staff %s is locked after %d wrong PINs: try again in %lld s",
                     staff, ACCESS_PIN_TRIES, (long long)retry_s);
        hb_http_reply_json(req, 429,
                           json_pack("{s:s, s:s, s:I}", "error", "locked", "reason", why,
                                     "retry_after_s", retry_s));
        goto out;
    }
    if (rc == 0)
        rc = access_signin(d->access, c->device.name, staff);
    if (rc == HB_EAUTH || rc == HB_ENOTFOUND) {
        /* The same answer for an unknown id and a wrong PIN: a terminal is
         * no way to learn which ids exist. */
        d->access_unauthenticated++;
        hb_http_reply_error(req, 401, "wrong_pin", "wrong staff id or PIN");
        goto out;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 503, "storage", "the sign-in cannot be stored now");
        goto out;
    }
    hb_info("access: staff %s signed in at counter %s (terminal %s)", staff, counter,
            c->device.name);
    char now[HB_RFC3339_MAX];
    hb_time_format(hb_now_ms(), now);
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:s, s:s, s:s}", "counter", counter, "staff", staff,
                                 "terminal", c->device.name, "since", now));
out:
    /* The PIN leaves no copy behind in this process's heap. */
    if (pin)
        sodium_memzero((void *)pin, strlen(pin));
    json_decref(b);
}

void branchd_api_signout(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const access_caller_t *c = branchd_caller(req);
    json_t *b = branchd_api_body(d, req, NULL, 0);
    if (!b)
        return;
    json_decref(b);
    char staff[ACCESS_ID_MAX];
    if (access_signout(d->access, c->device.name, staff) != 0) {
        hb_http_reply_error(req, 503, "storage", "the sign-out cannot be stored now");
        return;
    }
    const char *counter = hb_http_param(req, "counter");
    if (staff[0])
        hb_info("access: staff %s signed out at counter %s (terminal %s)", staff, counter,
                c->device.name);
    hb_http_reply_json(req, 200,
                       json_pack("{s:s, s:o}", "counter", counter, "staff",
                                 staff[0] ? json_string(staff) : json_null()));
}

/* ------------------------------------------------------------ staff ---- */

static void s_add_staff(const char *id, int64_t added_ms, void *arg)
{
    char at[HB_RFC3339_MAX];
    hb_time_format(added_ms, at);
    json_array_append_new(arg, json_pack("{s:s, s:s}", "staff", id, "added", at));
}

void branchd_api_get_staff(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    json_t *list = json_array();
    if (!list || access_staff_list(d->access, s_add_staff, list) != 0) {
        json_decref(list);
        hb_http_reply_error(req, 503, "storage", "the staff store cannot be read now");
        return;
    }
    hb_http_reply_json(
        req, 200,
        json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(list), "staff", list));
}

void branchd_api_post_staff(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    static const body_member_t m[] = {{"staff", JSON_STRING, true}, {"pin", JSON_STRING, true}};
    json_t *b = branchd_api_body(d, req, m, 2);
    if (!b)
        return;
    const char *staff = branchd_api_str(b, "staff"), *pin = branchd_api_str(b, "pin");
    char err[512];
    int rc = access_staff_add(d->access, staff, pin, err, sizeof err);
    sodium_memzero((void *)pin, strlen(pin));
    if (rc == 0) {
        hb_info("access: staff %s added by %s", staff,
                branchd_caller(req)->via == ACCESS_VIA_LOCAL ? "a local caller"
                                                             : branchd_caller(req)->device.name);
        hb_http_reply_json(req, 201, json_pack("{s:s}", "staff", staff));
    } else if (rc == HB_EINVAL) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_request", "%s", err);
    } else if (rc == HB_EEXIST) {
        d->api_refused++;
        hb_http_reply_error(req, 409, "exists", "%s", err);
    } else if (rc == HB_ETOOBIG) {
        hb_http_reply_error(req, 503, "full", "%s", err);
    } else {
        hb_http_reply_error(req, 503, "storage", "%s", err);
    }
    json_decref(b);
}

void branchd_api_delete_staff(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const char *staff = hb_http_param(req, "staff");
    int rc = access_staff_remove(d->access, staff);
    if (rc == HB_ENOTFOUND) {
        d->api_refused++;
        hb_http_reply_error(req, 404, "not_found", "no staff '%.64s'", staff);
        return;
    }
    if (rc != 0) {
        hb_http_reply_error(req, 503, "storage", "the staff store cannot be written now");
        return;
    }
    hb_info("access: staff %s removed, and signed out wherever they were", staff);
    hb_http_reply_json(req, 200, json_pack("{s:s, s:b}", "staff", staff, "removed", 1));
}
