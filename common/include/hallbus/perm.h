/* The permissions a route of either daemon may require, and where (scope):
 * one table, the only vocabulary the route tables (branchd/api/table.c,
 * hqd/api/table.c) may use. Every route names one permission; a route that
 * names none is refused when it is registered.
 *
 * This header only names and describes. Nothing is enforced here: who holds
 * which permission (roles, devices, tokens) and the check itself belong to
 * each daemon's access control, a guard (hb_http_set_guard) that reads the
 * request's route (hqd: hqd/auth/; branchd: branchd/access/; docs/SECURITY.md). */
#ifndef HALLBUS_PERM_H
#define HALLBUS_PERM_H

#include <stdbool.h>

/* X(ID, "name", daemon, what it lets a caller do). `daemon` is "hq", "hall"
 * or "both": the daemon whose routes may name it (tests/unit/
 * test_route_tables.c holds each table to it). Names are stable: tokens,
 * roles and audit records will carry them. */
#define HB_PERMS(X)                                                                                \
    X(PUBLIC, "public", "both",                                                                    \
      "anyone, without credentials: the dashboard's files, signing in, the health check, HQ's "    \
      "public hours")                                                                              \
    X(STATUS_READ, "status.read", "both",                                                          \
      "the daemon's own counters and state for operations: /v1/status, /metrics, a hall's "        \
      "complete snapshot")                                                                         \
    X(LIVE_READ, "live.read", "hq",                                                                \
      "the live board: halls' tiles, link records and mirrored state, regions, the change "        \
      "stream")                                                                                    \
    X(ALERTS_READ, "alerts.read", "hq",                                                            \
      "open alerts and their history, alert subscriptions, silences and delivery attempts")        \
    X(ALERTS_HANDLE, "alerts.handle", "hq", "acknowledge alerts, and silence them until a time")   \
    X(ALERTS_SUBSCRIBE, "alerts.subscribe", "hq",                                                  \
      "who is told of which alerts, and how: add, change and remove alert subscriptions")          \
    X(ARCHIVE_READ, "archive.read", "hq", "a hall's stored events, decoded")                       \
    X(ORG_READ, "org.read", "hq", "the organisation: regions, halls and where they sit")           \
    X(POLICY_READ, "policy.read", "hq",                                                            \
      "policy drafts and published versions, a hall's effective policy, the rollout of "           \
      "versions to the halls")                                                                     \
    X(POLICY_EDIT, "policy.edit", "hq", "write and remove policy drafts, and publish them")        \
    X(CAMPAIGN_READ, "campaign.read", "hq",                                                        \
      "campaigns, the calendar's check, export and per-hall slices, the glossary")                 \
    X(CAMPAIGN_DRAFT, "campaign.draft", "hq",                                                      \
      "create, edit and remove draft campaigns; submit and withdraw them")                         \
    X(CAMPAIGN_APPROVE, "campaign.approve", "hq",                                                  \
      "return, approve and publish submitted campaigns")                                           \
    X(ADMIN, "admin", "hq", "change the organisation and the glossary; read the audit log")        \
    X(SELF, "self", "hq", "anyone signed in: who they are and what they may do, signing out")      \
    X(HALLS_ENROL, "halls.enrol", "hq",                                                            \
      "approve, reject and list halls' enrolment requests, pre-register halls with one-time "      \
      "codes, revoke a hall")                                                                      \
    X(HALL_READ, "hall.read", "hall",                                                              \
      "what a customer may see: the hall's live state, services, opening hours, a ticket, "        \
      "campaigns")                                                                                 \
    X(TICKET_ISSUE, "ticket.issue", "hall", "issue a ticket")                                      \
    X(TICKET_HANDLE, "ticket.handle", "hall", "recall, mark a no-show, transfer, cancel")          \
    X(COUNTER_ACT, "counter.act", "hall",                                                          \
      "open, pause, resume and close a counter; call, start and complete at it")                   \
    X(COMPLAINT_OPEN, "complaint.open", "hall", "record a customer's complaint")                   \
    X(COMPLAINT_HANDLE, "complaint.handle", "hall",                                                \
      "read, acknowledge, escalate and resolve the hall's complaints")                             \
    X(FEEDBACK_GIVE, "feedback.give", "hall", "record a customer's score")                         \
    X(DEVICE_REPORT, "device.report", "hall", "report a device's own status")                      \
    X(EVENTS_POST, "events.post", "hall", "post events from a queue system the hall already has")  \
    X(STAFF_MANAGE, "staff.manage", "hall", "add and remove the hall's staff and set their PINs")  \
    X(STAFF_SIGNIN, "staff.signin", "hall",                                                        \
      "sign staff in and out at a counter terminal, with their PIN")                               \
    X(MANAGER_DAY, "manager.day", "hall",                                                          \
      "the duty manager's day: meetings, the checklist, opening, patrols, the work log, the "      \
      "cash handover, the day report")                                                             \
    X(APPOINTMENT_BOOK, "appointment.book", "both", "book, read and cancel appointments")          \
    X(REPORTS_READ, "reports.read", "hq",                                                          \
      "reports: KPIs of halls and regions by period, rankings of halls, which reports are "        \
      "final, and their CSV exports")

/* HB_PERM_UNSET is 0 on purpose: a route row that forgets its permission
 * (a designated initialiser without .perm) holds it, and is refused. */
typedef enum hb_perm {
    HB_PERM_UNSET = 0,
#define HB_PERM_ENUM(id, name, daemon, help) HB_PERM_##id,
    HB_PERMS(HB_PERM_ENUM)
#undef HB_PERM_ENUM
        HB_PERM_COUNT
} hb_perm_t;

/* Access control may keep the permissions a role grants as one 64-bit set. */
_Static_assert(HB_PERM_COUNT <= 64, "permissions must fit a 64-bit set");

/* Where the caller must hold the permission. X(ID, "name", needs a route
 * parameter, meaning). A scope that needs a parameter takes it from the
 * route's `scope_param`, which must name one of the pattern's parameters;
 * the others take none. HB_SCOPE_ALL is 0: a row that says nothing gets the
 * strictest reading. */
#define HB_SCOPES(X)                                                                               \
    X(ALL, "all", false,                                                                           \
      "over everything the daemon serves (HQ: the whole network; branchd: the whole hall)")        \
    X(ANY, "any", false,                                                                           \
      "anywhere; the answer or the change is kept to the caller's scope by the handler (lists, "   \
      "the stream, a document that names its own region)")                                         \
    X(HALL, "hall", true, "over the hall the parameter names")                                     \
    X(REGION, "region", true, "over the region the parameter names")                               \
    X(CAMPAIGN, "campaign", true, "over the region that owns the campaign the parameter names")    \
    X(COUNTER, "counter", true,                                                                    \
      "at the counter the parameter names (a counter terminal acts at its own)")                   \
    X(DEVICE, "device", true, "for the device the parameter names (a device reports itself)")

typedef enum hb_scope {
#define HB_SCOPE_ENUM(id, name, param, help) HB_SCOPE_##id,
    HB_SCOPES(HB_SCOPE_ENUM)
#undef HB_SCOPE_ENUM
        HB_SCOPE_COUNT
} hb_scope_t;

/* The permission's name ("live.read"), or NULL for HB_PERM_UNSET and values
 * outside the table. */
const char *hb_perm_name(hb_perm_t perm);
/* What it lets a caller do, one sentence; NULL as hb_perm_name. */
const char *hb_perm_help(hb_perm_t perm);
/* "hq", "hall" or "both"; NULL as hb_perm_name. */
const char *hb_perm_daemon(hb_perm_t perm);
/* Whether `perm` is one of the table's (HB_PERM_UNSET is not). */
bool hb_perm_valid(hb_perm_t perm);
/* The permission named `name`: 0 or HB_ENOTFOUND (also for NULL). */
int hb_perm_parse(const char *name, hb_perm_t *out);

/* The scope's name ("hall"), or NULL outside the table. */
const char *hb_scope_name(hb_scope_t scope);
/* Whether the scope takes a route parameter (hall, region, campaign,
 * counter, device). */
bool hb_scope_needs_param(hb_scope_t scope);
bool hb_scope_valid(hb_scope_t scope);

#endif
