/* branchd's GET /v1/notices: the notices of the manager page that HQ sent
 * (branchd/notices.h), or an empty set before any came. */
#include "api.h"

void branchd_api_get_notices(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    if (d->notices) {
        hb_http_reply_json(req, 200, json_incref(d->notices));
        return;
    }
    hb_http_reply_json(req, 200, json_pack("{s:n, s:[]}", "at", "notices"));
}
