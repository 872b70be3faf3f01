/* The guard of branchd's local API: every request but a public one names
 * its caller before its handler runs. A bearer token names a paired device
 * (access/access.h); a request without one is the trusted loopback caller
 * only when --local_trust is on (hallctl on the hall machine), and
 * otherwise refused. The device's kind then decides, from the route's
 * permission and scope (api/table.c), whether it may go on, and a counter
 * terminal's changes wait for a signed-in staff.
 *
 * Answers: 401 {"error": "unauthenticated"} when the caller is nobody (no
 * token, a token no device holds, a device HQ revoked); 403 {"error":
 * "forbidden", "permission": ...} when the caller may not (the reason names
 * the permission it lacks, or the scope: "counter 3's terminal acts at
 * counter 3 only"). docs/SECURITY.md has the table. */
#include "api.h"

#include "hallbus/error.h"
#include "hallbus/log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AUTH_HEADER_MAX 600 /* "Bearer " and a token; longer is no token of ours */

const access_caller_t *branchd_caller(const hb_http_req_t *req)
{
    /* The guard runs before every handler of a route that is not public,
     * and the hall has none that is: a handler without a caller is a
     * programming error. */
    const access_caller_t *c = req->caller;
    assert(c);
    return c;
}

void branchd_api_forbidden(branchd_t *d, hb_http_req_t *req, hb_perm_t perm, bool scope,
                           const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    d->access_forbidden++;
    json_t *o = json_pack("{s:s, s:s, s:s}", "error", "forbidden", "reason", why, "permission",
                          hb_perm_name(perm) ? hb_perm_name(perm) : "");
    if (o && scope)
        json_object_set_new(o, "scope", json_true());
    branchd_api_answer(d, req, 403, o);
}

static bool s_unauthenticated(branchd_t *d, hb_http_req_t *req, const char *why)
{
    d->access_unauthenticated++;
    hb_http_reply_error(req, 401, "unauthenticated", "%s", why);
    return false;
}

/* The token of an "Authorization: Bearer TOKEN" header; NULL when the
 * header is not of that form. */
static const char *s_bearer(char *header)
{
    static const char scheme[] = "bearer ";
    if (strncasecmp(header, scheme, sizeof scheme - 1) != 0)
        return NULL;
    char *token = header + sizeof scheme - 1;
    while (*token == ' ')
        token++;
    size_t n = strlen(token);
    while (n > 0 && token[n - 1] == ' ')
        token[--n] = '\0';
    return n > 0 && !strchr(token, ' ') ? token : NULL;
}

bool branchd_guard(hb_http_req_t *req, const hb_route_t *route, void *arg)
{
    branchd_t *d = arg;
    access_caller_t *c = &d->caller_now;
    memset(c, 0, sizeof *c);
    if (d->engine)
        engine_refusal_clear(d->engine);
    branchd_group_admit(d, route);
    if (route->perm == HB_PERM_PUBLIC)
        return true;

    char header[AUTH_HEADER_MAX];
    int hrc = hb_http_header(req, "authorization", header, sizeof header);
    if (hrc == HB_ENOTFOUND) {
        /* No token: only the hall machine itself, and only when trusted.
         * The bind is loopback then (main.c refuses local_trust otherwise);
         * the peer is asked all the same. */
        if (!d->cfg.local_trust || !hb_http_peer_is_loopback(req))
            return s_unauthenticated(d, req,
                                     "this API needs a paired device's token: send "
                                     "'Authorization: Bearer TOKEN' (`branchd devices add` "
                                     "pairs a device)");
        c->via = ACCESS_VIA_LOCAL;
        c->perms = access_kind_perms(ACCESS_KIND_MANAGER);
        d->access_local++;
    } else {
        const char *token = hrc == 0 ? s_bearer(header) : NULL;
        if (!token)
            return s_unauthenticated(d, req,
                                     "the Authorization header must be 'Bearer TOKEN' with the "
                                     "device's token");
        int rc = access_authenticate(d->access, token, &c->device, c->staff);
        if (rc == HB_ENOTFOUND)
            return s_unauthenticated(d, req,
                                     "this token is no paired device's (never paired, removed, "
                                     "or revoked)");
        if (rc != 0) {
            hb_log_once("access.store", HB_LOG_ERROR, "access: the device store cannot be read");
            hb_http_reply_error(req, 503, "storage", "the device store cannot be read now");
            return false;
        }
        /* HQ's revocations count from the moment the policy is in force,
         * before (and whether or not) the store has let the device go. */
        const hb_policy_t *p = engine_policy(d->engine);
        if (access_revoked(&c->device, p->revoked, p->n_revoked))
            return s_unauthenticated(d, req, "this device's token was revoked by HQ");
        c->via = ACCESS_VIA_DEVICE;
        c->perms = access_kind_perms(c->device.kind);
    }

    const char *scope_value = route->scope_param ? hb_http_param(req, route->scope_param) : NULL;
    bool scope_failed;
    char why[512];
    if (access_decide(c, route, scope_value, &scope_failed, why, sizeof why) != 0) {
        branchd_api_forbidden(d, req, route->perm, scope_failed, "%s", why);
        return false;
    }
    if (c->via == ACCESS_VIA_DEVICE &&
        (access_kind_needs_staff(c->device.kind) & ACCESS_PERM(route->perm)) && !c->staff[0]) {
        branchd_api_forbidden(d, req, route->perm, false,
                              "nobody is signed in at counter %s's terminal %s: sign in first "
                              "(POST /v1/counters/%s/signin)",
                              c->device.counter, c->device.name, c->device.counter);
        return false;
    }
    req->caller = c;
    branchd_group_enter(d, route);
    return true;
}
