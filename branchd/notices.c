/* The manager page's notices from HQ (see notices.h): the frame read into
 * JSON once, when it arrives, so the API only hands out a reference. */
#include "notices.h"

#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <string.h>

static json_t *s_text(const char *s) { return hb_utf8_json(s, s ? strlen(s) : 0); }

json_t *notices_from_frame(const Hallbus__HallNotices *hn)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < hn->n_notices && i < NOTICES_MAX; i++) {
        const Hallbus__HallNotice *x = hn->notices[i];
        json_t *params = x->params_json ? json_loads(x->params_json, 0, NULL) : NULL;
        if (params && !json_is_object(params)) {
            json_decref(params);
            params = NULL;
        }
        char raised[HB_RFC3339_MAX];
        hb_time_format(x->raised_ms, raised);
        json_t *o =
            json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:b}", "alert",
                      (json_int_t)(x->alert & INT64_MAX), "kind", s_text(x->kind), "params",
                      params ? params : json_null(), "severity", s_text(x->severity), "level",
                      s_text(x->level), "text_zh", s_text(x->text_zh), "text_en",
                      s_text(x->text_en), "raised", raised, "acknowledged", (int)x->acknowledged);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    char at[HB_RFC3339_MAX];
    hb_time_format(hn->at_ms, at);
    return json_pack("{s:s, s:o}", "at", at, "notices", arr);
}
