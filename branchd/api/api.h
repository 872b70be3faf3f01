/* The handlers of branchd's local API, for api/table.c, which routes to
 * them: status.c's (events, status, metrics, the snapshot, policy and
 * campaigns) and hall.c's (tickets, counters, complaints, feedback, devices,
 * the live hall). Each is an hb_http_handler_fn called with the branchd_t;
 * those whose route has parameters read them with hb_http_param(). Private
 * to branchd/api/. */
#ifndef BRANCHD_API_H
#define BRANCHD_API_H

#include "branchd.h"

/* A member a request body may have (hall.c reads bodies for every
 * handler). */
typedef struct body_member {
    const char *name;
    json_type type; /* JSON_STRING, JSON_INTEGER, JSON_TRUE (any boolean), JSON_ARRAY */
    bool required;
} body_member_t;
/* Parses the body as a JSON object whose members are all in `members`, of
 * their types, required ones present, strings without NUL. An empty body is {} when nothing is
 * required. Answers the refusal itself and returns NULL. */
json_t *branchd_api_body(branchd_t *d, hb_http_req_t *req, const body_member_t *members, size_t n);
/* A string member, NULL when absent or null. */
const char *branchd_api_str(const json_t *obj, const char *name);

/* An engine refusal answered with its HTTP status and short code (400
 * bad_request, 404 not_found, 409 wrong_state or the engine's own name,
 * 503 for storage and bounds). */
void branchd_api_refuse(branchd_t *d, hb_http_req_t *req, int rc, const char *err);
/* The status and code branchd_api_refuse answers for `rc` (counted as it
 * counts them), for an answer given elsewhere than to an HTTP request. */
int branchd_api_refusal(branchd_t *d, int rc, const char **code);
/* 400 bad_request for a request refused before the engine was asked (the
 * engine's last refusal name must not be taken for it). */
void branchd_api_bad_request(branchd_t *d, hb_http_req_t *req, const char *err);
/* An enum member by its JSON name; `*out` keeps its default when absent.
 * Answers the refusal itself (HB_EINVAL). */
int branchd_api_enum(branchd_t *d, hb_http_req_t *req, const json_t *obj, const char *name,
                     const ProtobufCEnumDescriptor *ed, int *out);

/* The answer of an issued ticket (201, as POST /v1/tickets), or of the
 * issue's refusal `rc` (a closed hall's 409 with its next opening). */
void branchd_api_issued(branchd_t *d, hb_http_req_t *req, int rc, const engine_ticket_answer_t *a,
                        const char *err);

/* group.c: group commit (issue 17). The guard admits every request first
 * (a request that does not join the pending group, or would pass its
 * bounds, commits it), and lets a request that changes tickets or counters
 * enter the group before its handler runs. Such a handler answers what
 * depends on the engine through branchd_api_answer*: held until the
 * group's commit, then sent, or replaced by the commit's refusal; every
 * other request is answered at once by the same calls. */
int branchd_group_init(branchd_t *d);
void branchd_group_admit(branchd_t *d, const hb_route_t *route);
void branchd_group_enter(branchd_t *d, const hb_route_t *route);
/* hb_http_reply_json and hb_http_reply_error, held when in a group. */
void branchd_api_answer(branchd_t *d, hb_http_req_t *req, int status, json_t *body);
void branchd_api_answer_error(branchd_t *d, hb_http_req_t *req, int status, const char *code,
                              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
typedef struct branchd_group_stats {
    uint64_t commits, requests;                 /* groups committed, requests answered by them */
    uint64_t refused_commits, refused_requests; /* groups whose commit was refused */
    uint64_t largest;                           /* requests in the largest group committed */
} branchd_group_stats_t;
void branchd_group_stats(branchd_group_stats_t *out);

/* guard.c: access control, the guard every request passes before its
 * handler (hb_http_set_guard; docs/SECURITY.md). */
bool branchd_guard(hb_http_req_t *req, const hb_route_t *route, void *arg);
/* The caller the guard let through: every route but a public one has one,
 * valid during the handler. */
const access_caller_t *branchd_caller(const hb_http_req_t *req);
/* Answers 403 {"error": "forbidden", "reason": ..., "permission": perm's
 * name[, "scope": true]} and counts it. */
void branchd_api_forbidden(branchd_t *d, hb_http_req_t *req, hb_perm_t perm, bool scope,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* access.c: staff sign-in at a counter terminal, and the hall's staff */
void branchd_api_signin(hb_http_req_t *req, void *arg);
void branchd_api_signout(hb_http_req_t *req, void *arg);
void branchd_api_get_staff(hb_http_req_t *req, void *arg);
void branchd_api_post_staff(hb_http_req_t *req, void *arg);
void branchd_api_delete_staff(hb_http_req_t *req, void *arg);

/* status.c */
void branchd_api_post_events(hb_http_req_t *req, void *arg);
void branchd_api_get_status(hb_http_req_t *req, void *arg);
void branchd_api_get_metrics(hb_http_req_t *req, void *arg);
void branchd_api_get_snapshot(hb_http_req_t *req, void *arg);
void branchd_api_get_policy(hb_http_req_t *req, void *arg);
void branchd_api_get_campaigns(hb_http_req_t *req, void *arg);
void branchd_api_get_campaigns_active(hb_http_req_t *req, void *arg);

/* hall.c: tickets (parameter "ticket") */
void branchd_api_post_ticket(hb_http_req_t *req, void *arg);
void branchd_api_get_ticket(hb_http_req_t *req, void *arg);
void branchd_api_ticket_get_action(hb_http_req_t *req, void *arg);
void branchd_api_ticket_recall(hb_http_req_t *req, void *arg);
void branchd_api_ticket_no_show(hb_http_req_t *req, void *arg);
void branchd_api_ticket_transfer(hb_http_req_t *req, void *arg);
void branchd_api_ticket_cancel(hb_http_req_t *req, void *arg);
void branchd_api_ticket_unknown(hb_http_req_t *req, void *arg);

/* hall.c: counters (parameter "counter") */
void branchd_api_counter_open(hb_http_req_t *req, void *arg);
void branchd_api_counter_pause(hb_http_req_t *req, void *arg);
void branchd_api_counter_resume(hb_http_req_t *req, void *arg);
void branchd_api_counter_close(hb_http_req_t *req, void *arg);
void branchd_api_counter_call(hb_http_req_t *req, void *arg);
void branchd_api_counter_start(hb_http_req_t *req, void *arg);
void branchd_api_counter_complete(hb_http_req_t *req, void *arg);
void branchd_api_counter_unknown(hb_http_req_t *req, void *arg);

/* hall.c: complaints (parameter "complaint") */
void branchd_api_post_complaint(hb_http_req_t *req, void *arg);
void branchd_api_get_complaints(hb_http_req_t *req, void *arg);
/* notices.c: the manager page's notices from HQ */
void branchd_api_get_notices(hb_http_req_t *req, void *arg);
void branchd_api_get_complaint(hb_http_req_t *req, void *arg);
void branchd_api_complaint_get_action(hb_http_req_t *req, void *arg);
void branchd_api_complaint_ack(hb_http_req_t *req, void *arg);
void branchd_api_complaint_escalate(hb_http_req_t *req, void *arg);
void branchd_api_complaint_resolve(hb_http_req_t *req, void *arg);
void branchd_api_complaint_unknown(hb_http_req_t *req, void *arg);

/* hall.c: feedback, devices (parameter "device"), the live hall */
void branchd_api_post_feedback(hb_http_req_t *req, void *arg);
void branchd_api_device_status(hb_http_req_t *req, void *arg);
void branchd_api_device_unknown(hb_http_req_t *req, void *arg);
/* hallview.c: the live view, and the JSON pieces hall.c's answers share:
 * an instant or null (0 and INT64_MAX: none), the halls to divert to, the
 * advice for a customer of `service` (NULL when none is due), and the
 * hall's figures now (malloc'd, NULL when out of memory). */
json_t *branchd_api_time_or_null(int64_t ms);
json_t *branchd_api_divert_json(size_t n, const char (*halls)[HB_HALL_ID_MAX]);
json_t *branchd_api_advice_json(const branchd_t *d, const hb_hall_figures_t *f,
                                const char *service);
hb_hall_figures_t *branchd_api_figures(const branchd_t *d, int64_t now_ms);
void branchd_api_get_hall(hb_http_req_t *req, void *arg);
void branchd_api_get_services(hb_http_req_t *req, void *arg);

/* pages.c: the hall's pages, public (a page holds no data; its API calls
 * carry the device's token) */
void branchd_api_page(hb_http_req_t *req, void *arg);
void branchd_api_page_file(hb_http_req_t *req, void *arg);
void branchd_api_page_i18n(hb_http_req_t *req, void *arg);

/* screens.c: what the hall's pages need besides the actions */
void branchd_api_get_me(hb_http_req_t *req, void *arg);
void branchd_api_get_device(hb_http_req_t *req, void *arg);
void branchd_api_get_devices(hb_http_req_t *req, void *arg);
void branchd_api_get_rating(hb_http_req_t *req, void *arg);
void branchd_api_get_public_ticket(hb_http_req_t *req, void *arg);
void branchd_api_ticket_qr(hb_http_req_t *req, void *arg);
/* A kiosk out of service issues nothing: answers 409 out_of_service and
 * returns true for such a caller. */
bool branchd_kiosk_out_of_service(branchd_t *d, hb_http_req_t *req);

/* manager.c: the duty manager's day */
void branchd_api_get_checklist(hb_http_req_t *req, void *arg);
void branchd_api_post_meeting(hb_http_req_t *req, void *arg);
void branchd_api_post_checklist(hb_http_req_t *req, void *arg);
void branchd_api_post_open(hb_http_req_t *req, void *arg);
void branchd_api_post_patrol(hb_http_req_t *req, void *arg);
void branchd_api_post_patrol_score(hb_http_req_t *req, void *arg);
void branchd_api_post_work_log(hb_http_req_t *req, void *arg);
void branchd_api_post_cash(hb_http_req_t *req, void *arg);
void branchd_api_get_manager_day(hb_http_req_t *req, void *arg);
void branchd_api_get_manager_report(hb_http_req_t *req, void *arg);

/* appointments.c (parameter "code") */
void branchd_api_get_slots(hb_http_req_t *req, void *arg);
void branchd_api_post_appointment(hb_http_req_t *req, void *arg);
void branchd_api_get_appointments(hb_http_req_t *req, void *arg);
void branchd_api_get_appointment(hb_http_req_t *req, void *arg);
void branchd_api_appointment_checkin(hb_http_req_t *req, void *arg);
void branchd_api_appointment_cancel(hb_http_req_t *req, void *arg);

/* live.c: GET /v1/hall/events */
void branchd_api_get_live(hb_http_req_t *req, void *arg);

#endif
