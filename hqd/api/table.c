/* hqd's route table: every route of HQ's HTTP API and of the dashboard's
 * files, the permission it needs (perm.h) and its handler (halls.c, live.c,
 * trends.c, policies.c, campaigns.c, enrol.c, reports.c, static.c), in one
 * list. A campaign step is a row of its own; the ":step" row after them
 * takes every other step and answers which ones there are.
 *
 * The guard (hqd/auth/guard.c) enforces each row's permission and scope
 * before the handler runs. HB_SCOPE_ANY marks the routes whose handler
 * keeps what it shows or changes to the caller's scope (lists, the stream,
 * a document naming its own region, publishing every draft). */
#include "api.h"

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* The dashboard's files, from the set main.c loaded (static.c serves). */
static void s_get_file(hb_http_req_t *req, void *arg)
{
    const char *file = hb_http_param(req, "file");
    /* index.html is the same page whichever path names it (page.c). */
    if (file && strcmp(file, "index.html") == 0)
        hqd_api_get_index(req, arg);
    else
        hb_static_serve(((hqd_t *)arg)->dashboard, req, file);
}

static void s_get_i18n(hb_http_req_t *req, void *arg)
{
    hb_static_serve_i18n(((hqd_t *)arg)->dashboard, req, hb_http_param(req, "file"));
}

static const hb_http_route_t s_routes[] = {
    /* Signing in and out, who the caller is, the audit log; the health
     * check answers anyone (load balancers). */
    {"GET", "/v1/health", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, hqd_api_get_health},
    {"POST", "/v1/login", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, hqd_api_login},
    {"POST", "/v1/logout", HB_PERM_SELF, HB_SCOPE_ANY, NULL, hqd_api_logout},
    {"GET", "/v1/me", HB_PERM_SELF, HB_SCOPE_ANY, NULL, hqd_api_get_me},
    {"POST", "/v1/tokens", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, hqd_api_token_by_password},
    {"POST", "/v1/tokens/revoke", HB_PERM_SELF, HB_SCOPE_ANY, NULL, hqd_api_token_revoke},
    {"GET", "/v1/audit", HB_PERM_ADMIN, HB_SCOPE_ALL, NULL, hqd_api_get_audit},

    /* HQ's own counters. */
    {"GET", "/v1/status", HB_PERM_STATUS_READ, HB_SCOPE_ALL, NULL, hqd_api_get_status},
    {"GET", "/metrics", HB_PERM_STATUS_READ, HB_SCOPE_ALL, NULL, hqd_api_get_metrics},

    /* The halls' links, mirrored state and stored events. */
    {"GET", "/v1/halls", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, hqd_api_get_halls},
    {"GET", "/v1/halls/:hall", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall", hqd_api_get_hall},
    {"GET", "/v1/halls/:hall/state", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_hall_state},
    {"GET", "/v1/halls/:hall/snapshot", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_hall_snapshot},
    {"GET", "/v1/halls/:hall/day", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall", hqd_api_get_hall_day},
    {"GET", "/v1/halls/:hall/appointments", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_hall_appointments},
    /* The hall is in the body: the handler keeps it to the caller's scope. */
    {"POST", "/v1/appointments", HB_PERM_APPOINTMENT_BOOK, HB_SCOPE_ANY, NULL,
     hqd_api_post_appointment},
    {"GET", "/v1/halls/:hall/events", HB_PERM_ARCHIVE_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_hall_events},

    /* The live board, the stream, alerts. */
    {"GET", "/v1/live/halls", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, hqd_api_get_live_halls},
    {"GET", "/v1/live/halls/:hall", HB_PERM_LIVE_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_live_hall},
    {"GET", "/v1/regions", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, hqd_api_get_regions},
    {"GET", "/v1/regions/:region", HB_PERM_LIVE_READ, HB_SCOPE_REGION, "region",
     hqd_api_get_region},
    {"GET", "/v1/trends", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, hqd_api_get_trends},
    {"GET", "/v1/stream", HB_PERM_LIVE_READ, HB_SCOPE_ANY, NULL, hqd_api_get_stream},
    {"GET", "/v1/alerts", HB_PERM_ALERTS_READ, HB_SCOPE_ANY, NULL, hqd_api_get_alerts},

    /* Alerts that reach people: acknowledging and silencing an alert (the
     * handler keeps it to the caller's scope: an alert id names no place),
     * subscriptions (admin's: they name roles, scopes and addresses), the
     * deliveries made, a hall's notices. */
    {"POST", "/v1/alerts/:alert/ack", HB_PERM_ALERTS_HANDLE, HB_SCOPE_ANY, NULL, hqd_api_ack_alert},
    {"POST", "/v1/alerts/:alert/silence", HB_PERM_ALERTS_HANDLE, HB_SCOPE_ANY, NULL,
     hqd_api_silence_alert},
    {"GET", "/v1/notify/subscriptions", HB_PERM_ALERTS_READ, HB_SCOPE_ANY, NULL,
     hqd_api_list_subscriptions},
    {"POST", "/v1/notify/subscriptions", HB_PERM_ALERTS_SUBSCRIBE, HB_SCOPE_ALL, NULL,
     hqd_api_create_subscription},
    {"GET", "/v1/notify/subscriptions/:subscription", HB_PERM_ALERTS_READ, HB_SCOPE_ANY, NULL,
     hqd_api_get_subscription},
    {"PUT", "/v1/notify/subscriptions/:subscription", HB_PERM_ALERTS_SUBSCRIBE, HB_SCOPE_ALL, NULL,
     hqd_api_put_subscription},
    {"DELETE", "/v1/notify/subscriptions/:subscription", HB_PERM_ALERTS_SUBSCRIBE, HB_SCOPE_ALL,
     NULL, hqd_api_delete_subscription},
    {"GET", "/v1/notify/silences", HB_PERM_ALERTS_READ, HB_SCOPE_ANY, NULL, hqd_api_list_silences},
    {"POST", "/v1/notify/silences", HB_PERM_ALERTS_HANDLE, HB_SCOPE_ANY, NULL,
     hqd_api_create_silence},
    {"DELETE", "/v1/notify/silences/:silence", HB_PERM_ALERTS_HANDLE, HB_SCOPE_ANY, NULL,
     hqd_api_delete_silence},
    {"GET", "/v1/notify/deliveries", HB_PERM_ALERTS_READ, HB_SCOPE_ANY, NULL,
     hqd_api_list_deliveries},
    {"GET", "/v1/notify/halls/:hall/notices", HB_PERM_ALERTS_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_hall_notices},

    /* The organisation. */
    {"GET", "/v1/org", HB_PERM_ORG_READ, HB_SCOPE_ANY, NULL, hqd_api_get_org},
    {"PUT", "/v1/org", HB_PERM_ADMIN, HB_SCOPE_ALL, NULL, hqd_api_put_org},
    {"GET", "/v1/org/regions/:region", HB_PERM_ORG_READ, HB_SCOPE_REGION, "region",
     hqd_api_get_org_region},
    {"PUT", "/v1/org/regions/:region", HB_PERM_ADMIN, HB_SCOPE_ALL, NULL, hqd_api_put_org_region},
    {"GET", "/v1/org/halls/:hall", HB_PERM_ORG_READ, HB_SCOPE_HALL, "hall", hqd_api_get_org_hall},
    {"PUT", "/v1/org/halls/:hall", HB_PERM_ADMIN, HB_SCOPE_ALL, NULL, hqd_api_put_org_hall},

    /* Policies: the national one is read wherever a policy reader is (it
     * applies to every hall), and written only network-wide. */
    {"GET", "/v1/policies", HB_PERM_POLICY_READ, HB_SCOPE_ANY, NULL, hqd_api_get_policies},
    {"GET", "/v1/policies/national", HB_PERM_POLICY_READ, HB_SCOPE_ANY, NULL, hqd_api_get_policy},
    {"PUT", "/v1/policies/national", HB_PERM_POLICY_EDIT, HB_SCOPE_ALL, NULL, hqd_api_put_policy},
    {"DELETE", "/v1/policies/national", HB_PERM_POLICY_EDIT, HB_SCOPE_ALL, NULL,
     hqd_api_delete_policy},
    {"GET", "/v1/policies/regions/:region", HB_PERM_POLICY_READ, HB_SCOPE_REGION, "region",
     hqd_api_get_policy},
    {"PUT", "/v1/policies/regions/:region", HB_PERM_POLICY_EDIT, HB_SCOPE_REGION, "region",
     hqd_api_put_policy},
    {"DELETE", "/v1/policies/regions/:region", HB_PERM_POLICY_EDIT, HB_SCOPE_REGION, "region",
     hqd_api_delete_policy},
    {"GET", "/v1/policies/halls/:hall", HB_PERM_POLICY_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_policy},
    {"PUT", "/v1/policies/halls/:hall", HB_PERM_POLICY_EDIT, HB_SCOPE_HALL, "hall",
     hqd_api_put_policy},
    {"DELETE", "/v1/policies/halls/:hall", HB_PERM_POLICY_EDIT, HB_SCOPE_HALL, "hall",
     hqd_api_delete_policy},
    {"POST", "/v1/policies/publish", HB_PERM_POLICY_EDIT, HB_SCOPE_ANY, NULL,
     hqd_api_publish_policies},
    {"GET", "/v1/policies/effective/:hall", HB_PERM_POLICY_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_effective},

    /* Campaigns: drafting (marketer) and reviewing (reviewer) steps apart. */
    {"GET", "/v1/campaigns", HB_PERM_CAMPAIGN_READ, HB_SCOPE_ANY, NULL, hqd_api_list_campaigns},
    {"POST", "/v1/campaigns", HB_PERM_CAMPAIGN_DRAFT, HB_SCOPE_ANY, NULL, hqd_api_create_campaign},
    {"GET", "/v1/campaigns/:campaign", HB_PERM_CAMPAIGN_READ, HB_SCOPE_CAMPAIGN, "campaign",
     hqd_api_get_campaign},
    {"PUT", "/v1/campaigns/:campaign", HB_PERM_CAMPAIGN_DRAFT, HB_SCOPE_CAMPAIGN, "campaign",
     hqd_api_put_campaign},
    {"DELETE", "/v1/campaigns/:campaign", HB_PERM_CAMPAIGN_DRAFT, HB_SCOPE_CAMPAIGN, "campaign",
     hqd_api_delete_campaign},
    {"POST", "/v1/campaigns/:campaign/submit", HB_PERM_CAMPAIGN_DRAFT, HB_SCOPE_CAMPAIGN,
     "campaign", hqd_api_campaign_submit},
    {"POST", "/v1/campaigns/:campaign/withdraw", HB_PERM_CAMPAIGN_DRAFT, HB_SCOPE_CAMPAIGN,
     "campaign", hqd_api_campaign_withdraw},
    {"POST", "/v1/campaigns/:campaign/return", HB_PERM_CAMPAIGN_APPROVE, HB_SCOPE_CAMPAIGN,
     "campaign", hqd_api_campaign_return},
    {"POST", "/v1/campaigns/:campaign/approve", HB_PERM_CAMPAIGN_APPROVE, HB_SCOPE_CAMPAIGN,
     "campaign", hqd_api_campaign_approve},
    {"POST", "/v1/campaigns/:campaign/publish", HB_PERM_CAMPAIGN_APPROVE, HB_SCOPE_CAMPAIGN,
     "campaign", hqd_api_campaign_publish},
    {"POST", "/v1/campaigns/:campaign/:step", HB_PERM_CAMPAIGN_READ, HB_SCOPE_CAMPAIGN, "campaign",
     hqd_api_campaign_unknown},

    /* The calendar, the glossary, the rollout of versions. */
    {"POST", "/v1/calendar/check", HB_PERM_CAMPAIGN_READ, HB_SCOPE_ANY, NULL,
     hqd_api_calendar_check},
    {"GET", "/v1/calendar/export", HB_PERM_CAMPAIGN_READ, HB_SCOPE_ANY, NULL,
     hqd_api_calendar_export},
    {"GET", "/v1/calendar/slice/:hall", HB_PERM_CAMPAIGN_READ, HB_SCOPE_HALL, "hall",
     hqd_api_calendar_slice},
    {"GET", "/v1/glossary", HB_PERM_CAMPAIGN_READ, HB_SCOPE_ANY, NULL, hqd_api_get_glossary},
    {"PUT", "/v1/glossary", HB_PERM_ADMIN, HB_SCOPE_ALL, NULL, hqd_api_put_glossary},
    {"GET", "/v1/rollout", HB_PERM_POLICY_READ, HB_SCOPE_ANY, NULL, hqd_api_get_rollout},

    /* Enrolment: head office approves, rejects, pre-registers and revokes
     * (halls.enrol); a hall sends a request that proves itself (a one-time
     * code, or a rotation proved by its current key), so that one route
     * needs no credentials: the request is its own (api/enrol.c). */
    {"GET", "/v1/enrolments", HB_PERM_HALLS_ENROL, HB_SCOPE_ALL, NULL, hqd_api_get_enrolments},
    {"POST", "/v1/enrolments", HB_PERM_HALLS_ENROL, HB_SCOPE_ALL, NULL, hqd_api_post_enrolment},
    {"POST", "/v1/enrolments/register", HB_PERM_HALLS_ENROL, HB_SCOPE_ALL, NULL,
     hqd_api_register_halls},
    {"POST", "/v1/enrolments/requests", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, hqd_api_hall_request},
    {"POST", "/v1/enrolments/:hall/approve", HB_PERM_HALLS_ENROL, HB_SCOPE_ALL, NULL,
     hqd_api_approve_enrolment},
    {"POST", "/v1/enrolments/:hall/reject", HB_PERM_HALLS_ENROL, HB_SCOPE_ALL, NULL,
     hqd_api_reject_enrolment},
    {"POST", "/v1/halls/:hall/revoke", HB_PERM_HALLS_ENROL, HB_SCOPE_ALL, NULL,
     hqd_api_revoke_hall},

    /* Reports and the archive, for analysts. A report's scope and an
     * archive search's hall are query parameters: the handlers keep what
     * they answer to the caller's scope. */
    {"GET", "/v1/reports/kpi", HB_PERM_REPORTS_READ, HB_SCOPE_ANY, NULL, hqd_api_get_kpi},
    {"GET", "/v1/reports/rank", HB_PERM_REPORTS_READ, HB_SCOPE_ANY, NULL, hqd_api_get_rank},
    {"GET", "/v1/reports/ready", HB_PERM_REPORTS_READ, HB_SCOPE_ANY, NULL, hqd_api_get_ready},
    {"GET", "/v1/reports/typical", HB_PERM_REPORTS_READ, HB_SCOPE_ANY, NULL, hqd_api_get_typical},
    {"GET", "/v1/archive", HB_PERM_ARCHIVE_READ, HB_SCOPE_ANY, NULL, hqd_api_get_archive},
    {"GET", "/v1/archive/tickets/:hall/:date/:ticket", HB_PERM_ARCHIVE_READ, HB_SCOPE_HALL, "hall",
     hqd_api_get_ticket_story},

    /* What the app and the website publish: no login. */
    {"GET", "/v1/public/hours", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, hqd_api_get_public_hours},

    /* The dashboard: its page must load before anyone has signed in. */
    {"GET", "/", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, hqd_api_get_index},
    {"HEAD", "/", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, hqd_api_get_index},
    {"GET", "/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_get_file},
    {"HEAD", "/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_get_file},
    {"GET", "/i18n/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_get_i18n},
    {"HEAD", "/i18n/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, s_get_i18n},
};

const hb_http_route_t *hqd_routes(size_t *n)
{
    *n = ROWS(s_routes);
    return s_routes;
}

int hqd_api_register(hqd_t *hq)
{
    size_t n;
    const hb_http_route_t *t = hqd_routes(&n);
    return hb_http_routes(hq->http, t, n, hq);
}
