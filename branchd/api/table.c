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

static const hb_http_route_t s_routes[] = {
    /* A queue system the hall already has; operations. */
    {"POST", "/v1/events", HB_PERM_EVENTS_POST, HB_SCOPE_ALL, NULL, branchd_api_post_events},
    {"GET", "/v1/status", HB_PERM_STATUS_READ, HB_SCOPE_ALL, NULL, branchd_api_get_status},
    {"GET", "/metrics", HB_PERM_STATUS_READ, HB_SCOPE_ALL, NULL, branchd_api_get_metrics},
    {"GET", "/v1/hall/snapshot", HB_PERM_STATUS_READ, HB_SCOPE_ALL, NULL, branchd_api_get_snapshot},

    /* The pages (issue 13): who a token is, the live stream, a ticket's
     * public status (no token: its reference is the secret, and lookups
     * are rate limited) and its QR code, a device's own state, what an
     * evaluator may score. */
    {"GET", "/v1/me", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_me},
    {"GET", "/v1/hall/events", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_live},
    {"GET", "/v1/public/tickets/:ref", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL,
     branchd_api_get_public_ticket},
    {"GET", "/v1/tickets/:ticket/qr", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_ticket_qr},
    {"GET", "/v1/devices", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_devices},
    /* A device's state is the hall view's too: any reader may see it. */
    {"GET", "/v1/devices/:device", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_device},
    {"GET", "/v1/counters/:counter/rating", HB_PERM_FEEDBACK_GIVE, HB_SCOPE_COUNTER, "counter",
     branchd_api_get_rating},

    /* What a customer may see. */
    {"GET", "/v1/hall", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_hall},
    {"GET", "/v1/services", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_services},
    {"GET", "/v1/policy", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_policy},
    {"GET", "/v1/campaigns", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_campaigns},
    {"GET", "/v1/campaigns/active", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL,
     branchd_api_get_campaigns_active},

    /* Tickets. */
    {"POST", "/v1/tickets", HB_PERM_TICKET_ISSUE, HB_SCOPE_ALL, NULL, branchd_api_post_ticket},
    {"GET", "/v1/tickets/:ticket", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_ticket},
    {"GET", "/v1/tickets/:ticket/:action", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL,
     branchd_api_ticket_get_action},
    {"POST", "/v1/tickets/:ticket/recall", HB_PERM_TICKET_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_ticket_recall},
    {"POST", "/v1/tickets/:ticket/no-show", HB_PERM_TICKET_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_ticket_no_show},
    {"POST", "/v1/tickets/:ticket/transfer", HB_PERM_TICKET_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_ticket_transfer},
    {"POST", "/v1/tickets/:ticket/cancel", HB_PERM_TICKET_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_ticket_cancel},
    {"POST", "/v1/tickets/:ticket/:action", HB_PERM_TICKET_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_ticket_unknown},

    /* Counters: a counter terminal acts at its own counter. */
    {"POST", "/v1/counters/:counter/open", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "counter",
     branchd_api_counter_open},
    {"POST", "/v1/counters/:counter/pause", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "counter",
     branchd_api_counter_pause},
    {"POST", "/v1/counters/:counter/resume", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "counter",
     branchd_api_counter_resume},
    {"POST", "/v1/counters/:counter/close", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "counter",
     branchd_api_counter_close},
    {"POST", "/v1/counters/:counter/call", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "counter",
     branchd_api_counter_call},
    {"POST", "/v1/counters/:counter/start", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "counter",
     branchd_api_counter_start},
    {"POST", "/v1/counters/:counter/complete", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "counter",
     branchd_api_counter_complete},
    {"POST", "/v1/counters/:counter/:action", HB_PERM_COUNTER_ACT, HB_SCOPE_COUNTER, "counter",
     branchd_api_counter_unknown},

    /* Staff sign in at their counter's terminal; the duty manager keeps
     * the list of staff. */
    {"POST", "/v1/counters/:counter/signin", HB_PERM_STAFF_SIGNIN, HB_SCOPE_COUNTER, "counter",
     branchd_api_signin},
    {"POST", "/v1/counters/:counter/signout", HB_PERM_STAFF_SIGNIN, HB_SCOPE_COUNTER, "counter",
     branchd_api_signout},
    {"GET", "/v1/staff", HB_PERM_STAFF_MANAGE, HB_SCOPE_ALL, NULL, branchd_api_get_staff},
    {"POST", "/v1/staff", HB_PERM_STAFF_MANAGE, HB_SCOPE_ALL, NULL, branchd_api_post_staff},
    {"DELETE", "/v1/staff/:staff", HB_PERM_STAFF_MANAGE, HB_SCOPE_ALL, NULL,
     branchd_api_delete_staff},

    /* Complaints. */
    {"POST", "/v1/complaints", HB_PERM_COMPLAINT_OPEN, HB_SCOPE_ALL, NULL,
     branchd_api_post_complaint},
    {"GET", "/v1/complaints", HB_PERM_COMPLAINT_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_get_complaints},
    /* The manager page's notices from HQ (alerts sent to the hall's page):
     * the duty manager's, as the complaints are. */
    {"GET", "/v1/notices", HB_PERM_COMPLAINT_HANDLE, HB_SCOPE_ALL, NULL, branchd_api_get_notices},
    {"GET", "/v1/complaints/:complaint", HB_PERM_COMPLAINT_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_get_complaint},
    {"GET", "/v1/complaints/:complaint/:action", HB_PERM_COMPLAINT_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_complaint_get_action},
    {"POST", "/v1/complaints/:complaint/ack", HB_PERM_COMPLAINT_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_complaint_ack},
    {"POST", "/v1/complaints/:complaint/escalate", HB_PERM_COMPLAINT_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_complaint_escalate},
    {"POST", "/v1/complaints/:complaint/resolve", HB_PERM_COMPLAINT_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_complaint_resolve},
    {"POST", "/v1/complaints/:complaint/:action", HB_PERM_COMPLAINT_HANDLE, HB_SCOPE_ALL, NULL,
     branchd_api_complaint_unknown},

    /* The duty manager's day: each record one event. */
    {"GET", "/v1/manager/checklist", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL,
     branchd_api_get_checklist},
    {"POST", "/v1/manager/checklist", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL,
     branchd_api_post_checklist},
    {"POST", "/v1/manager/meetings", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL,
     branchd_api_post_meeting},
    {"POST", "/v1/manager/open", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL, branchd_api_post_open},
    {"POST", "/v1/manager/patrols", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL,
     branchd_api_post_patrol},
    {"POST", "/v1/manager/patrols/:patrol/scores", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL,
     branchd_api_post_patrol_score},
    {"POST", "/v1/manager/log", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL, branchd_api_post_work_log},
    {"POST", "/v1/manager/cash", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL, branchd_api_post_cash},
    {"GET", "/v1/manager/day", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL,
     branchd_api_get_manager_day},
    {"GET", "/v1/manager/report", HB_PERM_MANAGER_DAY, HB_SCOPE_ALL, NULL,
     branchd_api_get_manager_report},

    /* Appointments: the hall keeps its own book. Slots are public
     * knowledge of the hall; a check-in issues a ticket. */
    {"GET", "/v1/appointments/slots", HB_PERM_HALL_READ, HB_SCOPE_ALL, NULL, branchd_api_get_slots},
    {"POST", "/v1/appointments", HB_PERM_APPOINTMENT_BOOK, HB_SCOPE_ALL, NULL,
     branchd_api_post_appointment},
    {"GET", "/v1/appointments", HB_PERM_APPOINTMENT_BOOK, HB_SCOPE_ALL, NULL,
     branchd_api_get_appointments},
    {"GET", "/v1/appointments/:code", HB_PERM_APPOINTMENT_BOOK, HB_SCOPE_ALL, NULL,
     branchd_api_get_appointment},
    {"POST", "/v1/appointments/:code/checkin", HB_PERM_TICKET_ISSUE, HB_SCOPE_ALL, NULL,
     branchd_api_appointment_checkin},
    {"POST", "/v1/appointments/:code/cancel", HB_PERM_APPOINTMENT_BOOK, HB_SCOPE_ALL, NULL,
     branchd_api_appointment_cancel},

    /* Feedback; devices report themselves. */
    {"POST", "/v1/feedback", HB_PERM_FEEDBACK_GIVE, HB_SCOPE_ALL, NULL, branchd_api_post_feedback},
    {"POST", "/v1/devices/:device/status", HB_PERM_DEVICE_REPORT, HB_SCOPE_DEVICE, "device",
     branchd_api_device_status},
    {"POST", "/v1/devices/:device/:action", HB_PERM_DEVICE_REPORT, HB_SCOPE_DEVICE, "device",
     branchd_api_device_unknown},

    /* The hall's own pages (pages.c): public, since a page is only files;
     * every call a page makes to the routes above carries its device's
     * token (or, on the customer's phone, reads the public ticket). */
    {"GET", "/kiosk", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, branchd_api_page},
    {"GET", "/counter/:counter", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, branchd_api_page},
    {"GET", "/rate/:counter", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, branchd_api_page},
    {"GET", "/display", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, branchd_api_page},
    {"GET", "/manager", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, branchd_api_page},
    {"GET", "/t/:ticket", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, branchd_api_page},
    {"GET", "/pages/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, branchd_api_page_file},
    {"GET", "/pages/i18n/:file", HB_PERM_PUBLIC, HB_SCOPE_ALL, NULL, branchd_api_page_i18n},
};

const hb_http_route_t *branchd_routes(size_t *n)
{
    *n = ROWS(s_routes);
    return s_routes;
}

int branchd_api_register(branchd_t *d)
{
    size_t n;
    const hb_http_route_t *t = branchd_routes(&n);
    int rc = hb_http_routes(d->http, t, n, d);
    if (rc == 0)
        hb_http_set_guard(d->http, branchd_guard, d);
    /* The group commit is the engine's and runs on the loop: a server
     * without them (a test of the table) has none. */
    if (rc == 0 && d->engine && d->loop)
        rc = branchd_group_init(d);
    return rc;
}
