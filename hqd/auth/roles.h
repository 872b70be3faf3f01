/* HQ's roles (issue 12's table) as data: each role is a name and the set of
 * perm.h permissions it grants, and a person holds roles, each over a
 * scope: the whole network, one region (a province or a city, and what lies
 * under it) or one hall. The only place that says which role may do what;
 * the guard, /v1/me and `hqd users` read it.
 *
 * Not here: who holds which role (authdb.h), or whether a hall lies in a
 * scope (ident.h, which needs the organisation). */
#ifndef HQD_ROLES_H
#define HQD_ROLES_H

#include "hallbus/perm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_PERM_BIT(id) ((uint64_t)1 << HB_PERM_##id)

/* Every role can ask who it is and sign out. */
#define HQ_ROLE_BASE HQ_PERM_BIT(SELF)

/* X(ID, "name", permissions, what the role is for). Names are the contract
 * of `hqd users add --role` and of /v1/me; they never change. */
#define HQ_ROLES(X)                                                                                \
    X(ADMIN, "admin",                                                                              \
      HQ_PERM_BIT(STATUS_READ) | HQ_PERM_BIT(LIVE_READ) | HQ_PERM_BIT(ALERTS_READ) |               \
          HQ_PERM_BIT(ARCHIVE_READ) | HQ_PERM_BIT(ORG_READ) | HQ_PERM_BIT(POLICY_READ) |           \
          HQ_PERM_BIT(POLICY_EDIT) | HQ_PERM_BIT(CAMPAIGN_READ) | HQ_PERM_BIT(CAMPAIGN_DRAFT) |    \
          HQ_PERM_BIT(CAMPAIGN_APPROVE) | HQ_PERM_BIT(REPORTS_READ) | HQ_PERM_BIT(ADMIN) |         \
          HQ_PERM_BIT(HALLS_ENROL) | HQ_PERM_BIT(ALERTS_HANDLE) | HQ_PERM_BIT(ALERTS_SUBSCRIBE) |  \
          HQ_PERM_BIT(APPOINTMENT_BOOK),                                                           \
      "everything: people, tokens, the organisation, settings, the audit log, halls' "             \
      "enrolment and revocation, who is told of which alerts")                                     \
    X(OPERATOR, "operator",                                                                        \
      HQ_PERM_BIT(STATUS_READ) | HQ_PERM_BIT(LIVE_READ) | HQ_PERM_BIT(ALERTS_READ) |               \
          HQ_PERM_BIT(ORG_READ) | HQ_PERM_BIT(ALERTS_HANDLE),                                      \
      "watch halls, regions, alerts and the stream in scope; acknowledge and silence alerts")      \
    X(MARKETER, "marketer",                                                                        \
      HQ_PERM_BIT(CAMPAIGN_READ) | HQ_PERM_BIT(CAMPAIGN_DRAFT) | HQ_PERM_BIT(ORG_READ),            \
      "draft, edit, submit and withdraw campaigns in scope; read the calendar and its check")      \
    X(REVIEWER, "reviewer",                                                                        \
      HQ_PERM_BIT(CAMPAIGN_READ) | HQ_PERM_BIT(CAMPAIGN_APPROVE) | HQ_PERM_BIT(ORG_READ),          \
      "return, approve and publish campaigns in scope, never one they created or last edited")     \
    X(POLICY_EDITOR, "policy_editor",                                                              \
      HQ_PERM_BIT(POLICY_READ) | HQ_PERM_BIT(POLICY_EDIT) | HQ_PERM_BIT(ORG_READ),                 \
      "edit and publish policies (hours, closures, SLA) in scope")                                 \
    X(ANALYST, "analyst",                                                                          \
      HQ_PERM_BIT(LIVE_READ) | HQ_PERM_BIT(ALERTS_READ) | HQ_PERM_BIT(ARCHIVE_READ) |              \
          HQ_PERM_BIT(ORG_READ) | HQ_PERM_BIT(CAMPAIGN_READ) | HQ_PERM_BIT(REPORTS_READ),          \
      "read reports, exports, the board, alerts and the archive of stored events in scope")        \
    X(VIEWER, "viewer", HQ_PERM_BIT(LIVE_READ), "read the live board in scope")                    \
    X(BOOKING, "booking", HQ_PERM_BIT(APPOINTMENT_BOOK),                                           \
      "an app or web hall's backend: book appointments at the halls in scope "                     \
      "(POST /v1/appointments), nothing else")

typedef enum hq_role {
#define HQ_ROLE_ENUM(id, name, perms, help) HQ_ROLE_##id,
    HQ_ROLES(HQ_ROLE_ENUM)
#undef HQ_ROLE_ENUM
        HQ_ROLE_COUNT
} hq_role_t;

/* The role's name ("policy_editor"), or NULL outside the table. */
const char *hq_role_name(int role);
const char *hq_role_help(int role);
/* The permissions it grants, HQ_ROLE_BASE included (0 outside the table). */
uint64_t hq_role_perms(int role);
/* The role named `name`: 0, or HB_ENOTFOUND (NULL too). */
int hq_role_parse(const char *name, hq_role_t *out);
/* The roles that grant `perm`, as "admin, operator" into `out` (cut to
 * fit); for refusals that say what would have been needed. */
void hq_roles_granting(hb_perm_t perm, char *out, size_t outlen);
/* Every role's name, "admin, operator, ...", for usage and refusals. */
void hq_roles_list(char *out, size_t outlen);

#endif
