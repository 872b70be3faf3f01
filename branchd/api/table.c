/* branchd's route table: every route of the hall's local API, the permission
 * it needs (perm.h) and its handler (status.c, hall.c), in one list. An
 * action in the path is a row of its own; the ":action" rows after them
 * take every other action and answer which ones there are.
 *
 * The guard (guard.c) enforces each row's permission and scope before its
 * handler runs. The scope is the whole hall (HB_SCOPE_ALL, the default)
 * except where a counter terminal or a device may act only on itself. */
#include "api.h"

#define ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* Rows are written with http.h's HB_GET, HB_POST, ...: each states the
 * pattern, the permission, the scope (ALL: the whole hall; COUNTER: a
 * counter terminal only at its own counter; DEVICE: a device only for
 * itself) and the handler. An action on a counter, ticket or complaint is a
 * POST to the object's path and the action's name, handled by the function
 * named after both: one row each, stating only the action. */
#define COUNTER_ACTION(a)                                                                          \
    HB_POST("/v1/counters/:counter/" #a, COUNTER_ACT, COUNTER, branchd_api_counter_##a)
#define TICKET_ACTION(a)                                                                           \
    HB_POST("/v1/tickets/:ticket/" #a, TICKET_HANDLE, ALL, branchd_api_ticket_##a)
#define COMPLAINT_ACTION(a) COMPLAINT_ROUTE(POST, "/" #a, a)
#define COMPLAINT_ROUTE(m, tail, fn)                                                               \
    HB_##m("/v1/complaints/:complaint" tail, COMPLAINT_HANDLE, ALL, branchd_api_complaint_##fn)

static const hb_http_route_t s_routes[] = {
    /* A queue system the hall already has; operations. */
    HB_POST("/v1/events", EVENTS_POST, ALL, branchd_api_post_events),
    HB_GET("/v1/status", STATUS_READ, ALL, branchd_api_get_status),
    HB_GET("/metrics", STATUS_READ, ALL, branchd_api_get_metrics),
    HB_GET("/v1/hall/snapshot", STATUS_READ, ALL, branchd_api_get_snapshot),

    /* The pages (issue 13): who a token is, the live stream, a ticket's
     * public status (no token: its reference is the secret, and lookups
     * are rate limited) and its QR code, a device's own state, what an
     * evaluator may score. */
    HB_GET("/v1/me", HALL_READ, ALL, branchd_api_get_me),
    HB_GET("/v1/hall/events", HALL_READ, ALL, branchd_api_get_live),
    HB_GET("/v1/public/tickets/:ref", PUBLIC, ALL, branchd_api_get_public_ticket),
    HB_GET("/v1/tickets/:ticket/qr", HALL_READ, ALL, branchd_api_ticket_qr),
    HB_GET("/v1/devices", HALL_READ, ALL, branchd_api_get_devices),
    /* A device's state is the hall view's too: any reader may see it. */
    HB_GET("/v1/devices/:device", HALL_READ, ALL, branchd_api_get_device),
    HB_GET("/v1/counters/:counter/rating", FEEDBACK_GIVE, COUNTER, branchd_api_get_rating),

    /* What a customer may see. */
    HB_GET("/v1/hall", HALL_READ, ALL, branchd_api_get_hall),
    HB_GET("/v1/services", HALL_READ, ALL, branchd_api_get_services),
    HB_GET("/v1/policy", HALL_READ, ALL, branchd_api_get_policy),
    HB_GET("/v1/campaigns", HALL_READ, ALL, branchd_api_get_campaigns),
    HB_GET("/v1/campaigns/active", HALL_READ, ALL, branchd_api_get_campaigns_active),

    /* Tickets. */
    HB_POST("/v1/tickets", TICKET_ISSUE, ALL, branchd_api_post_ticket),
    HB_GET("/v1/tickets/:ticket", HALL_READ, ALL, branchd_api_get_ticket),
    HB_GET("/v1/tickets/:ticket/:action", HALL_READ, ALL, branchd_api_ticket_get_action),
    TICKET_ACTION(recall),
    HB_POST("/v1/tickets/:ticket/no-show", TICKET_HANDLE, ALL, branchd_api_ticket_no_show),
    TICKET_ACTION(transfer),
    TICKET_ACTION(cancel),
    HB_POST("/v1/tickets/:ticket/:action", TICKET_HANDLE, ALL, branchd_api_ticket_unknown),

    /* Counters: a counter terminal acts at its own counter. */
    COUNTER_ACTION(open),
    COUNTER_ACTION(pause),
    COUNTER_ACTION(resume),
    COUNTER_ACTION(close),
    COUNTER_ACTION(call),
    COUNTER_ACTION(start),
    COUNTER_ACTION(complete),
    HB_POST("/v1/counters/:counter/:action", COUNTER_ACT, COUNTER, branchd_api_counter_unknown),

    /* Staff sign in at their counter's terminal; the duty manager keeps
     * the list of staff. */
    HB_POST("/v1/counters/:counter/signin", STAFF_SIGNIN, COUNTER, branchd_api_signin),
    HB_POST("/v1/counters/:counter/signout", STAFF_SIGNIN, COUNTER, branchd_api_signout),
    HB_GET("/v1/staff", STAFF_MANAGE, ALL, branchd_api_get_staff),
    HB_POST("/v1/staff", STAFF_MANAGE, ALL, branchd_api_post_staff),
    HB_DELETE("/v1/staff/:staff", STAFF_MANAGE, ALL, branchd_api_delete_staff),

    /* Complaints. */
    HB_POST("/v1/complaints", COMPLAINT_OPEN, ALL, branchd_api_post_complaint),
    HB_GET("/v1/complaints", COMPLAINT_HANDLE, ALL, branchd_api_get_complaints),
    /* The manager page's notices from HQ (alerts sent to the hall's page):
     * the duty manager's, as the complaints are. */
    HB_GET("/v1/notices", COMPLAINT_HANDLE, ALL, branchd_api_get_notices),
    HB_GET("/v1/complaints/:complaint", COMPLAINT_HANDLE, ALL, branchd_api_get_complaint),
    COMPLAINT_ROUTE(GET, "/:action", get_action),
    COMPLAINT_ACTION(ack),
    COMPLAINT_ACTION(escalate),
    COMPLAINT_ACTION(resolve),
    COMPLAINT_ROUTE(POST, "/:action", unknown),

    /* The duty manager's day: each record one event. */
    HB_GET("/v1/manager/checklist", MANAGER_DAY, ALL, branchd_api_get_checklist),
    HB_POST("/v1/manager/checklist", MANAGER_DAY, ALL, branchd_api_post_checklist),
    HB_POST("/v1/manager/meetings", MANAGER_DAY, ALL, branchd_api_post_meeting),
    HB_POST("/v1/manager/open", MANAGER_DAY, ALL, branchd_api_post_open),
    HB_POST("/v1/manager/patrols", MANAGER_DAY, ALL, branchd_api_post_patrol),
    HB_POST("/v1/manager/patrols/:patrol/scores", MANAGER_DAY, ALL, branchd_api_post_patrol_score),
    HB_POST("/v1/manager/log", MANAGER_DAY, ALL, branchd_api_post_work_log),
    HB_POST("/v1/manager/cash", MANAGER_DAY, ALL, branchd_api_post_cash),
    HB_GET("/v1/manager/day", MANAGER_DAY, ALL, branchd_api_get_manager_day),
    HB_GET("/v1/manager/report", MANAGER_DAY, ALL, branchd_api_get_manager_report),

    /* Appointments: the hall keeps its own book. Slots are public
     * knowledge of the hall; a check-in issues a ticket. */
    HB_GET("/v1/appointments/slots", HALL_READ, ALL, branchd_api_get_slots),
    HB_POST("/v1/appointments", APPOINTMENT_BOOK, ALL, branchd_api_post_appointment),
    HB_GET("/v1/appointments", APPOINTMENT_BOOK, ALL, branchd_api_get_appointments),
    HB_GET("/v1/appointments/:code", APPOINTMENT_BOOK, ALL, branchd_api_get_appointment),
    HB_POST("/v1/appointments/:code/checkin", TICKET_ISSUE, ALL, branchd_api_appointment_checkin),
    HB_POST("/v1/appointments/:code/cancel", APPOINTMENT_BOOK, ALL, branchd_api_appointment_cancel),

    /* Feedback; devices report themselves. */
    HB_POST("/v1/feedback", FEEDBACK_GIVE, ALL, branchd_api_post_feedback),
    HB_POST("/v1/devices/:device/status", DEVICE_REPORT, DEVICE, branchd_api_device_status),
    HB_POST("/v1/devices/:device/:action", DEVICE_REPORT, DEVICE, branchd_api_device_unknown),

    /* The hall's own pages (pages.c): public, since a page is only files;
     * every call a page makes to the routes above carries its device's
     * token (or, on the customer's phone, reads the public ticket). */
    HB_GET("/kiosk", PUBLIC, ALL, branchd_api_page),
    HB_GET("/counter/:counter", PUBLIC, ALL, branchd_api_page),
    HB_GET("/rate/:counter", PUBLIC, ALL, branchd_api_page),
    HB_GET("/display", PUBLIC, ALL, branchd_api_page),
    HB_GET("/manager", PUBLIC, ALL, branchd_api_page),
    HB_GET("/t/:ticket", PUBLIC, ALL, branchd_api_page),
    HB_GET("/pages/:file", PUBLIC, ALL, branchd_api_page_file),
    HB_GET("/pages/i18n/:file", PUBLIC, ALL, branchd_api_page_i18n),
};

const hb_http_route_t *branchd_routes(size_t *n)
{
    *n = ROWS(s_routes);
    return s_routes;
}

int branchd_api_register(branchd_t *d)
{
    int rc = hb_http_routes(d->http, s_routes, ROWS(s_routes), d);
    if (rc == 0)
        hb_http_set_guard(d->http, branchd_guard, d);
    /* The group commit is the engine's and runs on the loop: a server
     * without them (a test of the table) has none. */
    if (rc == 0 && d->engine && d->loop)
        rc = branchd_group_init(d);
    return rc;
}
