/* hqd's control-plane routes: the rollout of policy and calendar versions
 * to the halls (docs/API.md). Translation only: the rules live in
 * control.c and downlink.c. */
#include "hqd.h"

#include "hallbus/error.h"

#include <stdlib.h>
#include <string.h>

#define ROLLOUT_LIST_DEFAULT 100
#define ROLLOUT_LIST_MAX 100000

/* GET /v1/rollout[?halls=N]: per version kind, how many halls run the
 * newest version, are waiting for it online, or are offline; with
 * ?halls=N, up to N hall ids in each group. */
static void s_get_rollout(hb_http_req_t *req, void *arg)
{
    hqd_t *hq = arg;
    char buf[16];
    size_t max = 0;
    int rc = hb_http_query(req, "halls", buf, sizeof buf);
    if (rc == 0) {
        char *end;
        unsigned long v = strtoul(buf, &end, 10);
        if (buf[0] < '0' || buf[0] > '9' || *end || v > ROLLOUT_LIST_MAX) {
            hb_http_reply_error(req, 400, "bad_parameter", "halls must be a number from 0 to %d",
                                ROLLOUT_LIST_MAX);
            return;
        }
        max = buf[0] ? v : ROLLOUT_LIST_DEFAULT;
    } else if (rc != HB_ENOTFOUND) {
        hb_http_reply_error(req, 400, "bad_parameter", "halls must be a number from 0 to %d",
                            ROLLOUT_LIST_MAX);
        return;
    }
    hb_http_reply_json(req, 200, hq_downlink_rollout_json(hq->downlink, max > 0, max));
}

int hqd_api_control_register(hqd_t *hq)
{
    return hb_http_route(hq->http, "GET", "/v1/rollout", s_get_rollout, hq);
}
