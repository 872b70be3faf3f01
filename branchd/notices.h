/* The notices of the hall's manager page that HQ sends down the link (a
 * HallNotices frame: HQ's alerts of this hall that subscriptions send to
 * its page, worded in Chinese and English, docs/ALERTS.md), kept as the
 * JSON the local API answers with. Each frame replaces the set. Kept in
 * memory only: HQ sends them again after every Hello.
 *
 * The loop thread's. Not here: who gets notices (HQ), the page itself. */
#ifndef BRANCHD_NOTICES_H
#define BRANCHD_NOTICES_H

#include "hallbus.pb-c.h"

#include <jansson.h>

#define NOTICES_MAX 64 /* notices kept; HQ sends at most as many */

/* The frame as {"at": RFC 3339, "notices": [{"alert", "kind", "params",
 * "severity", "level", "text_zh", "text_en", "raised", "acknowledged"}]}
 * (new reference; NULL without memory). Strings that are not UTF-8 show
 * '?' for their bad bytes; params that do not decode as a JSON object are
 * null. */
json_t *notices_from_frame(const Hallbus__HallNotices *hn);

#endif
