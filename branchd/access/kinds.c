/* What each kind of hall device may do (one table: kind -> permissions, and
 * which of them need a signed-in staff), and the decisions made from it:
 * whether a caller may use a route where its scope points, whether HQ
 * revoked a device, which staff id a counter action records. Pure
 * functions of their arguments: the store and HTTP are elsewhere. */
#include "access.h"

#include "hallbus/error.h"

#include <stdio.h>
#include <string.h>

#define P(id) ACCESS_PERM(HB_PERM_##id)

/* Every permission of the hall's vocabulary (perm.h's "hall" and "both"
 * rows) but the sign-in, which only a terminal has a use for: the manager
 * tablet acts at any counter without one. Computed, so that a permission
 * added to the hall's routes later is the manager's without a change here. */
static uint64_t s_manager_perms(void)
{
    uint64_t set = 0;
    for (int p = HB_PERM_UNSET + 1; p < HB_PERM_COUNT; p++) {
        const char *d = hb_perm_daemon((hb_perm_t)p);
        if (p != HB_PERM_PUBLIC && p != HB_PERM_STAFF_SIGNIN && strcmp(d, "hq") != 0)
            set |= ACCESS_PERM(p);
    }
    return set;
}

static const struct {
    const char *name;
    uint64_t perms;       /* 0 for the manager: s_manager_perms() */
    uint64_t needs_staff; /* of those, what a signed-in staff must be there for */
} s_kinds[ACCESS_KIND_COUNT] = {
    [ACCESS_KIND_KIOSK] = {"kiosk", P(HALL_READ) | P(TICKET_ISSUE) | P(DEVICE_REPORT), 0},
    [ACCESS_KIND_COUNTER] = {"counter",
                             P(HALL_READ) | P(COUNTER_ACT) | P(TICKET_HANDLE) | P(COMPLAINT_OPEN) |
                                 P(FEEDBACK_GIVE) | P(STAFF_SIGNIN) | P(APPOINTMENT_BOOK),
                             P(COUNTER_ACT) | P(TICKET_HANDLE) | P(COMPLAINT_OPEN) |
                                 P(FEEDBACK_GIVE) | P(APPOINTMENT_BOOK)},
    [ACCESS_KIND_DISPLAY] = {"display", P(HALL_READ), 0},
    [ACCESS_KIND_MANAGER] = {"manager", 0, 0},
    [ACCESS_KIND_ADAPTER] = {"adapter", P(EVENTS_POST) | P(HALL_READ), 0},
    /* Faces the customer: scores the visit, needs nobody signed in. */
    [ACCESS_KIND_EVALUATOR] = {"evaluator", P(HALL_READ) | P(FEEDBACK_GIVE), 0},
};

bool access_kind_has_counter(access_kind_t kind)
{
    return kind == ACCESS_KIND_COUNTER || kind == ACCESS_KIND_EVALUATOR;
}

const char *access_kind_name(access_kind_t kind)
{
    return (int)kind >= 0 && kind < ACCESS_KIND_COUNT ? s_kinds[kind].name : NULL;
}

int access_kind_parse(const char *name, access_kind_t *out)
{
    for (int k = 0; name && k < ACCESS_KIND_COUNT; k++) {
        if (strcmp(s_kinds[k].name, name) == 0) {
            *out = (access_kind_t)k;
            return 0;
        }
    }
    return HB_ENOTFOUND;
}

const char *access_kind_list(void)
{
    return "kiosk, counter, display, manager, adapter, evaluator";
}

uint64_t access_kind_perms(access_kind_t kind)
{
    if ((int)kind < 0 || kind >= ACCESS_KIND_COUNT)
        return 0;
    return kind == ACCESS_KIND_MANAGER ? s_manager_perms() : s_kinds[kind].perms;
}

uint64_t access_kind_needs_staff(access_kind_t kind)
{
    return (int)kind >= 0 && kind < ACCESS_KIND_COUNT ? s_kinds[kind].needs_staff : 0;
}

/* Who the caller is, for a reason: "kiosk K1", "counter 3's terminal T3",
 * "the local caller". */
static void s_who(const access_caller_t *c, char *out, size_t outlen)
{
    if (c->via == ACCESS_VIA_LOCAL)
        snprintf(out, outlen, "a loopback caller trusted as the duty manager");
    else if (c->device.kind == ACCESS_KIND_COUNTER)
        snprintf(out, outlen, "counter %s's terminal %s", c->device.counter, c->device.name);
    else if (c->device.kind == ACCESS_KIND_EVALUATOR)
        snprintf(out, outlen, "counter %s's evaluator %s", c->device.counter, c->device.name);
    else
        snprintf(out, outlen, "%s %s", access_kind_name(c->device.kind), c->device.name);
}

int access_decide(const access_caller_t *c, const hb_route_t *route, const char *scope_value,
                  bool *scope_failed, char *why, size_t whylen)
{
    char who[2 * ACCESS_ID_MAX + 40];
    *scope_failed = false;
    if (route->perm == HB_PERM_PUBLIC)
        return 0;
    s_who(c, who, sizeof who);
    if (!hb_perm_valid(route->perm) || !(c->perms & ACCESS_PERM(route->perm))) {
        hb_errf(why, whylen, "%s does not hold %s (%s)", who,
                hb_perm_name(route->perm) ? hb_perm_name(route->perm) : "this permission",
                hb_perm_help(route->perm) ? hb_perm_help(route->perm) : "");
        return HB_EAUTH;
    }
    /* The tablet and the trusted loopback act over the whole hall. */
    bool whole_hall = c->via == ACCESS_VIA_LOCAL || c->device.kind == ACCESS_KIND_MANAGER;
    switch (route->scope) {
    case HB_SCOPE_ALL:
    case HB_SCOPE_ANY: return 0;
    case HB_SCOPE_COUNTER:
        if (whole_hall || (access_kind_has_counter(c->device.kind) && scope_value &&
                           strcmp(scope_value, c->device.counter) == 0))
            return 0;
        *scope_failed = true;
        hb_errf(why, whylen, "scope counter: %s acts at %s%s only, not at counter %.64s", who,
                access_kind_has_counter(c->device.kind) ? "counter " : "no counter",
                access_kind_has_counter(c->device.kind) ? c->device.counter : "",
                scope_value ? scope_value : "?");
        return HB_EAUTH;
    case HB_SCOPE_DEVICE:
        if (whole_hall || (scope_value && strcmp(scope_value, c->device.name) == 0))
            return 0;
        *scope_failed = true;
        hb_errf(why, whylen, "scope device: %s reports for itself only, not for device %.64s", who,
                scope_value ? scope_value : "?");
        return HB_EAUTH;
    default:
        *scope_failed = true;
        hb_errf(why, whylen, "scope %s: the hall does not judge it; refused",
                hb_scope_name(route->scope) ? hb_scope_name(route->scope) : "?");
        return HB_EAUTH;
    }
}

bool access_revoked(const access_device_t *dev, const hb_revocation_t *revoked, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const hb_revocation_t *r = &revoked[i];
        if (r->token[0] && strcmp(r->token, dev->token_id) == 0)
            return true;
        if (r->device[0] && strcmp(r->device, dev->name) == 0 &&
            (r->paired_before_ms == 0 || dev->paired_ms < r->paired_before_ms))
            return true;
    }
    return false;
}

int access_counter_staff(const access_caller_t *c, const char *counter, const char *body_staff,
                         const char *open_staff, bool open_or_close, const char **staff, char *why,
                         size_t whylen)
{
    *staff = body_staff;
    if (c->via == ACCESS_VIA_LOCAL || c->device.kind != ACCESS_KIND_COUNTER)
        return 0;
    if (!c->staff[0]) {
        hb_errf(why, whylen, "nobody is signed in at counter %s's terminal: sign in first",
                counter);
        return HB_EAUTH;
    }
    if (body_staff && strcmp(body_staff, c->staff) != 0) {
        hb_errf(why, whylen,
                "staff %.64s is not the one signed in at this terminal (%s); the staff id comes "
                "from the sign-in, leave it out",
                body_staff, c->staff);
        return HB_EINVAL;
    }
    /* Service started and the like carry the counter's staff, the one that
     * opened it: so another staff's session is only ended here, never
     * continued. */
    if (!open_or_close && open_staff && open_staff[0] && strcmp(open_staff, c->staff) != 0) {
        hb_errf(why, whylen,
                "counter %s is open under staff %s, and %s is signed in: close it, then open "
                "it again",
                counter, open_staff, c->staff);
        return HB_ECONFLICT;
    }
    *staff = c->staff;
    return 0;
}

int access_feedback_counter(const access_caller_t *c, const char *body_counter,
                            const char **counter, char *why, size_t whylen)
{
    *counter = body_counter;
    if (c->via == ACCESS_VIA_LOCAL || !access_kind_has_counter(c->device.kind))
        return 0;
    if (body_counter && strcmp(body_counter, c->device.counter) != 0) {
        hb_errf(why, whylen,
                "scope counter: counter %s's %s gives scores for counter %s only, not "
                "for counter %.64s",
                c->device.counter,
                c->device.kind == ACCESS_KIND_EVALUATOR ? "evaluator" : "terminal",
                c->device.counter, body_counter);
        return HB_EAUTH;
    }
    *counter = c->device.counter;
    return 0;
}
