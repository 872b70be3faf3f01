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
static void s_get_index(hb_http_req_t *req, void *arg)
{
    hb_static_serve(((hqd_t *)arg)->dashboard, req, NULL);
}

static void s_get_file(hb_http_req_t *req, void *arg)
{
    hb_static_serve(((hqd_t *)arg)->dashboard, req, hb_http_param(req, "file"));
}

static void s_get_i18n(hb_http_req_t *req, void *arg)
{
    hb_static_serve_i18n(((hqd_t *)arg)->dashboard, req, hb_http_param(req, "file"));
}

/* Rows are written with http.h's HB_GET, HB_POST, ...: each states the
 * pattern, the permission, the scope (ALL: network-wide; ANY: the handler
 * keeps to the caller's scope; HALL, REGION, CAMPAIGN: the one the pattern
 * names) and the handler. A campaign's step is a POST to its path and the
 * step's name, handled by the function named after it: one row each,
 * stating only the step and its permission. */
#define CAMPAIGN_STEP(step, perm)                                                                  \
    HB_POST("/v1/campaigns/:campaign/" #step, perm, CAMPAIGN, hqd_api_campaign_##step)

static const hb_http_route_t s_routes[] = {
    /* Signing in and out, who the caller is, the audit log; the health
     * check answers anyone (load balancers). */
    HB_GET("/v1/health", PUBLIC, ALL, hqd_api_get_health),
    HB_POST("/v1/login", PUBLIC, ALL, hqd_api_login),
    HB_POST("/v1/logout", SELF, ANY, hqd_api_logout),
    HB_GET("/v1/me", SELF, ANY, hqd_api_get_me),
    HB_POST("/v1/tokens", PUBLIC, ALL, hqd_api_token_by_password),
    HB_POST("/v1/tokens/revoke", SELF, ANY, hqd_api_token_revoke),
    HB_GET("/v1/audit", ADMIN, ALL, hqd_api_get_audit),

    /* HQ's own counters. */
    HB_GET("/v1/status", STATUS_READ, ALL, hqd_api_get_status),
    HB_GET("/metrics", STATUS_READ, ALL, hqd_api_get_metrics),

    /* The halls' links, mirrored state and stored events. */
    HB_GET("/v1/halls", LIVE_READ, ANY, hqd_api_get_halls),
    HB_GET("/v1/halls/:hall", LIVE_READ, HALL, hqd_api_get_hall),
    HB_GET("/v1/halls/:hall/state", LIVE_READ, HALL, hqd_api_get_hall_state),
    HB_GET("/v1/halls/:hall/snapshot", LIVE_READ, HALL, hqd_api_get_hall_snapshot),
    HB_GET("/v1/halls/:hall/day", LIVE_READ, HALL, hqd_api_get_hall_day),
    HB_GET("/v1/halls/:hall/appointments", LIVE_READ, HALL, hqd_api_get_hall_appointments),
    /* The hall is in the body: the handler keeps it to the caller's scope. */
    HB_POST("/v1/appointments", APPOINTMENT_BOOK, ANY, hqd_api_post_appointment),
    HB_GET("/v1/halls/:hall/events", ARCHIVE_READ, HALL, hqd_api_get_hall_events),

    /* The live board, the stream, alerts. */
    HB_GET("/v1/live/halls", LIVE_READ, ANY, hqd_api_get_live_halls),
    HB_GET("/v1/live/halls/:hall", LIVE_READ, HALL, hqd_api_get_live_hall),
    HB_GET("/v1/regions", LIVE_READ, ANY, hqd_api_get_regions),
    HB_GET("/v1/regions/:region", LIVE_READ, REGION, hqd_api_get_region),
    HB_GET("/v1/trends", LIVE_READ, ANY, hqd_api_get_trends),
    HB_GET("/v1/stream", LIVE_READ, ANY, hqd_api_get_stream),
    HB_GET("/v1/alerts", ALERTS_READ, ANY, hqd_api_get_alerts),

    /* Alerts that reach people: acknowledging and silencing an alert (the
     * handler keeps it to the caller's scope: an alert id names no place),
     * subscriptions (admin's: they name roles, scopes and addresses), the
     * deliveries made, a hall's notices. */
    HB_POST("/v1/alerts/:alert/ack", ALERTS_HANDLE, ANY, hqd_api_ack_alert),
    HB_POST("/v1/alerts/:alert/silence", ALERTS_HANDLE, ANY, hqd_api_silence_alert),
    HB_GET("/v1/notify/subscriptions", ALERTS_READ, ANY, hqd_api_list_subscriptions),
    HB_POST("/v1/notify/subscriptions", ALERTS_SUBSCRIBE, ALL, hqd_api_create_subscription),
    HB_GET("/v1/notify/subscriptions/:subscription", ALERTS_READ, ANY, hqd_api_get_subscription),
    HB_PUT("/v1/notify/subscriptions/:subscription", ALERTS_SUBSCRIBE, ALL,
           hqd_api_put_subscription),
    HB_DELETE("/v1/notify/subscriptions/:subscription", ALERTS_SUBSCRIBE, ALL,
              hqd_api_delete_subscription),
    HB_GET("/v1/notify/silences", ALERTS_READ, ANY, hqd_api_list_silences),
    HB_POST("/v1/notify/silences", ALERTS_HANDLE, ANY, hqd_api_create_silence),
    HB_DELETE("/v1/notify/silences/:silence", ALERTS_HANDLE, ANY, hqd_api_delete_silence),
    HB_GET("/v1/notify/deliveries", ALERTS_READ, ANY, hqd_api_list_deliveries),
    HB_GET("/v1/notify/halls/:hall/notices", ALERTS_READ, HALL, hqd_api_get_hall_notices),

    /* The organisation. */
    HB_GET("/v1/org", ORG_READ, ANY, hqd_api_get_org),
    HB_PUT("/v1/org", ADMIN, ALL, hqd_api_put_org),
    HB_GET("/v1/org/regions/:region", ORG_READ, REGION, hqd_api_get_org_region),
    HB_PUT("/v1/org/regions/:region", ADMIN, ALL, hqd_api_put_org_region),
    HB_GET("/v1/org/halls/:hall", ORG_READ, HALL, hqd_api_get_org_hall),
    HB_PUT("/v1/org/halls/:hall", ADMIN, ALL, hqd_api_put_org_hall),

    /* Policies: the national one is read wherever a policy reader is (it
     * applies to every hall), and written only network-wide. */
    HB_GET("/v1/policies", POLICY_READ, ANY, hqd_api_get_policies),
    HB_GET("/v1/policies/national", POLICY_READ, ANY, hqd_api_get_policy),
    HB_PUT("/v1/policies/national", POLICY_EDIT, ALL, hqd_api_put_policy),
    HB_DELETE("/v1/policies/national", POLICY_EDIT, ALL, hqd_api_delete_policy),
    HB_GET("/v1/policies/regions/:region", POLICY_READ, REGION, hqd_api_get_policy),
    HB_PUT("/v1/policies/regions/:region", POLICY_EDIT, REGION, hqd_api_put_policy),
    HB_DELETE("/v1/policies/regions/:region", POLICY_EDIT, REGION, hqd_api_delete_policy),
    HB_GET("/v1/policies/halls/:hall", POLICY_READ, HALL, hqd_api_get_policy),
    HB_PUT("/v1/policies/halls/:hall", POLICY_EDIT, HALL, hqd_api_put_policy),
    HB_DELETE("/v1/policies/halls/:hall", POLICY_EDIT, HALL, hqd_api_delete_policy),
    HB_POST("/v1/policies/publish", POLICY_EDIT, ANY, hqd_api_publish_policies),
    HB_GET("/v1/policies/effective/:hall", POLICY_READ, HALL, hqd_api_get_effective),

    /* Campaigns: drafting (marketer) and reviewing (reviewer) steps apart. */
    HB_GET("/v1/campaigns", CAMPAIGN_READ, ANY, hqd_api_list_campaigns),
    HB_POST("/v1/campaigns", CAMPAIGN_DRAFT, ANY, hqd_api_create_campaign),
    HB_GET("/v1/campaigns/:campaign", CAMPAIGN_READ, CAMPAIGN, hqd_api_get_campaign),
    HB_PUT("/v1/campaigns/:campaign", CAMPAIGN_DRAFT, CAMPAIGN, hqd_api_put_campaign),
    HB_DELETE("/v1/campaigns/:campaign", CAMPAIGN_DRAFT, CAMPAIGN, hqd_api_delete_campaign),
    CAMPAIGN_STEP(submit, CAMPAIGN_DRAFT),
    CAMPAIGN_STEP(withdraw, CAMPAIGN_DRAFT),
    CAMPAIGN_STEP(return, CAMPAIGN_APPROVE),
    CAMPAIGN_STEP(approve, CAMPAIGN_APPROVE),
    CAMPAIGN_STEP(publish, CAMPAIGN_APPROVE),
    HB_POST("/v1/campaigns/:campaign/:step", CAMPAIGN_READ, CAMPAIGN, hqd_api_campaign_unknown),

    /* The calendar, the glossary, the rollout of versions. */
    HB_POST("/v1/calendar/check", CAMPAIGN_READ, ANY, hqd_api_calendar_check),
    HB_GET("/v1/calendar/export", CAMPAIGN_READ, ANY, hqd_api_calendar_export),
    HB_GET("/v1/calendar/slice/:hall", CAMPAIGN_READ, HALL, hqd_api_calendar_slice),
    HB_GET("/v1/glossary", CAMPAIGN_READ, ANY, hqd_api_get_glossary),
    HB_PUT("/v1/glossary", ADMIN, ALL, hqd_api_put_glossary),
    HB_GET("/v1/rollout", POLICY_READ, ANY, hqd_api_get_rollout),

    /* Enrolment: head office approves, rejects, pre-registers and revokes
     * (halls.enrol); a hall sends a request that proves itself (a one-time
     * code, or a rotation proved by its current key), so that one route
     * needs no credentials: the request is its own (api/enrol.c). */
    HB_GET("/v1/enrolments", HALLS_ENROL, ALL, hqd_api_get_enrolments),
    HB_POST("/v1/enrolments", HALLS_ENROL, ALL, hqd_api_post_enrolment),
    HB_POST("/v1/enrolments/register", HALLS_ENROL, ALL, hqd_api_register_halls),
    HB_POST("/v1/enrolments/requests", PUBLIC, ALL, hqd_api_hall_request),
    HB_POST("/v1/enrolments/:hall/approve", HALLS_ENROL, ALL, hqd_api_approve_enrolment),
    HB_POST("/v1/enrolments/:hall/reject", HALLS_ENROL, ALL, hqd_api_reject_enrolment),
    HB_POST("/v1/halls/:hall/revoke", HALLS_ENROL, ALL, hqd_api_revoke_hall),

    /* Reports and the archive, for analysts. A report's scope and an
     * archive search's hall are query parameters: the handlers keep what
     * they answer to the caller's scope. */
    HB_GET("/v1/reports/kpi", REPORTS_READ, ANY, hqd_api_get_kpi),
    HB_GET("/v1/reports/rank", REPORTS_READ, ANY, hqd_api_get_rank),
    HB_GET("/v1/reports/ready", REPORTS_READ, ANY, hqd_api_get_ready),
    HB_GET("/v1/reports/typical", REPORTS_READ, ANY, hqd_api_get_typical),
    HB_GET("/v1/archive", ARCHIVE_READ, ANY, hqd_api_get_archive),
    HB_GET("/v1/archive/tickets/:hall/:date/:ticket", ARCHIVE_READ, HALL, hqd_api_get_ticket_story),

    /* What the app and the website publish: no login. */
    HB_GET("/v1/public/hours", PUBLIC, ALL, hqd_api_get_public_hours),

    /* The dashboard: its page must load before anyone has signed in. */
    HB_GET("/", PUBLIC, ALL, s_get_index),
    HB_HEAD("/", PUBLIC, ALL, s_get_index),
    HB_GET("/:file", PUBLIC, ALL, s_get_file),
    HB_HEAD("/:file", PUBLIC, ALL, s_get_file),
    HB_GET("/i18n/:file", PUBLIC, ALL, s_get_i18n),
    HB_HEAD("/i18n/:file", PUBLIC, ALL, s_get_i18n),
};

const hb_http_route_t *hqd_routes(size_t *n)
{
    *n = ROWS(s_routes);
    return s_routes;
}

int hqd_api_register(hqd_t *hq) { return hb_http_routes(hq->http, s_routes, ROWS(s_routes), hq); }
