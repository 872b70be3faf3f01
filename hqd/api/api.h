/* The handlers of hqd's HTTP API, for api/table.c, which routes to them:
 * halls.c's (the halls' links, their mirrored state and stored events, HQ's
 * counters), metrics.c's (/metrics), live.c's (tiles, regions, the stream,
 * alerts), policies.c's (organisation, policies) and campaigns.c's
 * (campaigns, calendar, glossary, rollout), reports.c's (reports, the archive) and auth.c's
 * (sign-in, tokens, the caller, the audit log, health). Each is
 * an hb_http_handler_fn called with the hqd_t; those whose route has
 * parameters read them with hb_http_param(). Private to hqd/api/. */
#ifndef HQD_API_H
#define HQD_API_H

#include "hqd.h"

/* halls.c (parameter "hall") */
void hqd_api_get_halls(hb_http_req_t *req, void *arg);
void hqd_api_get_hall(hb_http_req_t *req, void *arg);
void hqd_api_get_hall_state(hb_http_req_t *req, void *arg);
void hqd_api_get_hall_snapshot(hb_http_req_t *req, void *arg);
void hqd_api_get_hall_events(hb_http_req_t *req, void *arg);
void hqd_api_get_status(hb_http_req_t *req, void *arg);

/* The hall the route's "hall" parameter names; NULL after answering 404
 * (halls.c, for every route with that parameter). */
hq_hall_t *hqd_api_path_hall(hqd_t *hq, hb_http_req_t *req);

/* hallday.c (parameter "hall"): a hall's day, its manager's records and report */
void hqd_api_get_hall_day(hb_http_req_t *req, void *arg);
void hqd_api_get_hall_appointments(hb_http_req_t *req, void *arg);

/* booking.c: POST /v1/appointments, a booking sent to its hall */
void hqd_api_post_appointment(hb_http_req_t *req, void *arg);

/* metrics.c */
void hqd_api_get_metrics(hb_http_req_t *req, void *arg);

/* live.c (parameters "hall", "region") */
void hqd_api_get_live_halls(hb_http_req_t *req, void *arg);
void hqd_api_get_live_hall(hb_http_req_t *req, void *arg);
void hqd_api_get_regions(hb_http_req_t *req, void *arg);
void hqd_api_get_region(hb_http_req_t *req, void *arg);
void hqd_api_get_stream(hb_http_req_t *req, void *arg);
void hqd_api_get_alerts(hb_http_req_t *req, void *arg);

/* policies.c: organisation (parameters "region", "hall") */
void hqd_api_get_org(hb_http_req_t *req, void *arg);
void hqd_api_put_org(hb_http_req_t *req, void *arg);
void hqd_api_get_org_region(hb_http_req_t *req, void *arg);
void hqd_api_put_org_region(hb_http_req_t *req, void *arg);
void hqd_api_get_org_hall(hb_http_req_t *req, void *arg);
void hqd_api_put_org_hall(hb_http_req_t *req, void *arg);

/* policies.c: policies. One handler per method serves the three scopes: the
 * route's parameter ("region", "hall" or none: national) names the scope. */
void hqd_api_get_policies(hb_http_req_t *req, void *arg);
void hqd_api_get_policy(hb_http_req_t *req, void *arg);
void hqd_api_put_policy(hb_http_req_t *req, void *arg);
void hqd_api_delete_policy(hb_http_req_t *req, void *arg);
void hqd_api_publish_policies(hb_http_req_t *req, void *arg);
void hqd_api_get_effective(hb_http_req_t *req, void *arg);

/* campaigns.c: campaigns (parameter "campaign"), one handler per step */
void hqd_api_list_campaigns(hb_http_req_t *req, void *arg);
void hqd_api_create_campaign(hb_http_req_t *req, void *arg);
void hqd_api_get_campaign(hb_http_req_t *req, void *arg);
void hqd_api_put_campaign(hb_http_req_t *req, void *arg);
void hqd_api_delete_campaign(hb_http_req_t *req, void *arg);
void hqd_api_campaign_submit(hb_http_req_t *req, void *arg);
void hqd_api_campaign_return(hb_http_req_t *req, void *arg);
void hqd_api_campaign_approve(hb_http_req_t *req, void *arg);
void hqd_api_campaign_publish(hb_http_req_t *req, void *arg);
void hqd_api_campaign_withdraw(hb_http_req_t *req, void *arg);
void hqd_api_campaign_unknown(hb_http_req_t *req, void *arg);

/* campaigns.c: calendar, glossary, rollout */
void hqd_api_calendar_check(hb_http_req_t *req, void *arg);
void hqd_api_calendar_export(hb_http_req_t *req, void *arg);
void hqd_api_calendar_slice(hb_http_req_t *req, void *arg);
void hqd_api_get_glossary(hb_http_req_t *req, void *arg);
void hqd_api_put_glossary(hb_http_req_t *req, void *arg);
void hqd_api_get_rollout(hb_http_req_t *req, void *arg);

/* halls.c: a hall's certificate as /v1/halls and /v1/enrolments show it:
 * {"serial", "not_before", "not_after", "state": "active", "expiring",
 * "expired"}, or null when it has none. */
json_t *hqd_cert_json(hqd_t *hq, const char *hall);

/* enrol.c: enrolment (parameter "hall") */
void hqd_api_get_enrolments(hb_http_req_t *req, void *arg);
void hqd_api_post_enrolment(hb_http_req_t *req, void *arg);
void hqd_api_approve_enrolment(hb_http_req_t *req, void *arg);
void hqd_api_reject_enrolment(hb_http_req_t *req, void *arg);

void hqd_api_register_halls(hb_http_req_t *req, void *arg);
void hqd_api_hall_request(hb_http_req_t *req, void *arg);
void hqd_api_revoke_hall(hb_http_req_t *req, void *arg);

/* reports.c: reports and the archive (parameters "hall", "date", "ticket") */
void hqd_api_get_kpi(hb_http_req_t *req, void *arg);
void hqd_api_get_rank(hb_http_req_t *req, void *arg);
void hqd_api_get_ready(hb_http_req_t *req, void *arg);
void hqd_api_get_typical(hb_http_req_t *req, void *arg);
void hqd_api_get_archive(hb_http_req_t *req, void *arg);
void hqd_api_get_ticket_story(hb_http_req_t *req, void *arg);
/* The rollups', retention's and storage's parts of /v1/status and
 * /metrics (halls.c asks). */
void hqd_api_reports_status(hqd_t *hq, json_t *body);
struct hb_metrics;
void hqd_api_reports_metrics(hqd_t *hq, struct hb_metrics *m);

/* page.c: GET / and /index.html, the dashboard's page written for the
 * person who asks (who is signed in, the language's texts) */
void hqd_api_get_index(hb_http_req_t *req, void *arg);

/* auth.c: signing in and out, who the caller is, the audit log, health */
void hqd_api_get_health(hb_http_req_t *req, void *arg);
void hqd_api_login(hb_http_req_t *req, void *arg);
void hqd_api_logout(hb_http_req_t *req, void *arg);
void hqd_api_get_me(hb_http_req_t *req, void *arg);
/* The caller's view for `perm` (hq_auth_view); NULL after answering 503,
 * for every handler that keeps its answer to the caller's scope. */
const hq_view_t *hqd_api_view(hb_http_req_t *req, hb_perm_t perm);
/* GET /v1/me's answer for `id`: hq_auth_me_json and when this hqd started
 * (server_started); the dashboard's page (page.c) is served with it. NULL
 * when out of memory. */
json_t *hqd_api_me_json(hqd_t *hq, const hq_ident_t *id);
void hqd_api_token_by_password(hb_http_req_t *req, void *arg);
void hqd_api_token_revoke(hb_http_req_t *req, void *arg);
void hqd_api_get_audit(hb_http_req_t *req, void *arg);

/* notify.c: alerts that reach people (parameters "subscription", "alert",
 * "silence", "hall") */
void hqd_api_list_subscriptions(hb_http_req_t *req, void *arg);
void hqd_api_create_subscription(hb_http_req_t *req, void *arg);
void hqd_api_get_subscription(hb_http_req_t *req, void *arg);
void hqd_api_put_subscription(hb_http_req_t *req, void *arg);
void hqd_api_delete_subscription(hb_http_req_t *req, void *arg);
void hqd_api_ack_alert(hb_http_req_t *req, void *arg);
void hqd_api_silence_alert(hb_http_req_t *req, void *arg);
void hqd_api_list_silences(hb_http_req_t *req, void *arg);
void hqd_api_create_silence(hb_http_req_t *req, void *arg);
void hqd_api_delete_silence(hb_http_req_t *req, void *arg);
void hqd_api_list_deliveries(hb_http_req_t *req, void *arg);
void hqd_api_get_hall_notices(hb_http_req_t *req, void *arg);

/* trends.c: today per 15 minutes against the typical (query "scope") */
void hqd_api_get_trends(hb_http_req_t *req, void *arg);

/* public.c: no login */
void hqd_api_get_public_hours(hb_http_req_t *req, void *arg);

#endif
