/* branchd's live hall view as its API gives it: the hall's state merged
 * with its figures (GET /v1/hall, /v1/services), and the advice and the
 * neighbour board a customer is shown, as advice.c decides them, also for
 * hall.c's ticket answers. Translation only: the figures are figures.h's
 * and the advice is advice.c's. */
#include "api.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"
#include "hallbus/log.h"
#include "hallbus/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *branchd_api_time_or_null(int64_t ms)
{
    if (ms <= 0 || ms == INT64_MAX)
        return json_null();
    char buf[HB_RFC3339_MAX];
    hb_time_format(ms, buf);
    return json_string(buf);
}

json_t *branchd_api_divert_json(size_t n, const char (*halls)[HB_HALL_ID_MAX])
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(halls[i]));
    return a;
}

static json_t *s_nearby_json(const advice_t *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->n_nearby; i++)
        json_array_append_new(arr, json_string(a->nearby[i]));
    return arr;
}

/* The neighbour board as HQ last sent it, marked stale when it is; with
 * `service`, each hall says whether it is a shorter place for it than
 * `own_wait_s` here (advice.h decides). NULL before any board arrived. */
static json_t *s_neighbours_json(const branchd_t *d, const char *service, uint32_t own_wait_s)
{
    const advice_board_t *n = &d->neighbours;
    if (!n->received_mono)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < n->n; i++) {
        const advice_neighbour_t *h = &n->halls[i];
        json_t *svcs = json_array();
        for (size_t k = 0; k < h->n_services; k++)
            json_array_append_new(svcs, json_pack("{s:s, s:I}", "service", h->services[k].service,
                                                  "estimated_wait_s",
                                                  (json_int_t)h->services[k].estimated_wait_s));
        json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:o}", "hall", h->hall, "name",
                              h->name, "address", h->address, "online", h->online, "open", h->open,
                              "waiting", (json_int_t)h->waiting, "estimated_wait_s",
                              (json_int_t)h->estimated_wait_s, "services", svcs);
        if (service)
            json_object_set_new(o, "shorter",
                                json_boolean(advice_neighbour_better(h, service, own_wait_s)));
        json_array_append_new(arr, o);
    }
    return json_pack("{s:o, s:b, s:o}", "as_of", branchd_api_time_or_null(n->at_ms), "stale",
                     branchd_neighbours_stale(d), "halls", arr);
}

/* The advice for a customer of `service` as advice.c decides it from the
 * hall's figures `f`, or NULL when none is due. */
json_t *branchd_api_advice_json(const branchd_t *d, const hb_hall_figures_t *f, const char *service)
{
    const hb_policy_t *p = engine_policy(d->engine);
    advice_t a;
    advice_decide(engine_state(d->engine), f, p, service, &d->neighbours,
                  !branchd_neighbours_stale(d), &a);
    if (!a.divert)
        return NULL;
    json_t *ch = json_array();
    for (size_t i = 0; i < p->n_echannels; i++)
        json_array_append_new(ch, json_string(p->echannels[i]));
    json_t *o =
        json_pack("{s:b, s:I, s:I, s:I, s:o, s:o, s:s, s:s}", "divert", 1, "waiting",
                  (json_int_t)a.waiting, "threshold", (json_int_t)a.threshold, "estimated_wait_s",
                  (json_int_t)a.estimated_wait_s, "echannels", ch, "nearby", s_nearby_json(&a),
                  "nearby_from", a.from_board ? "hq" : "policy", "message",
                  "Many customers are waiting: this service is also available online "
                  "and in nearby halls.");
    json_t *board = s_neighbours_json(d, service, a.estimated_wait_s);
    if (board)
        json_object_set_new(o, "neighbours", board);
    return o;
}

/* The hall's figures now; NULL when out of memory (they are large). */
hb_hall_figures_t *branchd_api_figures(const branchd_t *d, int64_t now_ms)
{
    hb_hall_figures_t *f = malloc(sizeof *f);
    if (f)
        hb_hall_figures(engine_state(d->engine), engine_policy(d->engine), now_ms, f);
    return f;
}

/* -------------------------------------------------------- hall state ---- */

/* The figures into the live view: each service's figures into the view's
 * entry for it (the figures list the state's services first, in the
 * view's order), services only counters name after them, and the hall's
 * figures at the top level. Both sides of an equal member are figures.h's. */
static int s_merge_figures(json_t *view, const hb_hall_figures_t *f)
{
    json_t *fig = hb_hall_figures_json(f);
    if (!fig)
        return HB_ENOMEM;
    json_t *mine = json_object_get(view, "services"), *theirs = json_object_get(fig, "services");
    size_t i;
    json_t *v;
    json_array_foreach (theirs, i, v) {
        json_t *entry = json_array_get(mine, i);
        if (entry)
            json_object_update(entry, v);
        else
            json_array_append(mine, v);
    }
    json_object_del(fig, "services");
    json_object_update(view, fig);
    json_decref(fig);
    return 0;
}

void branchd_api_get_hall(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    /* ?now= takes the moment-dependent figures at that instant, so that a
     * reader can compare them with HQ's taken at the same one (figures.h). */
    int64_t now = hb_now_ms();
    char at[64];
    int qrc = hb_http_query(req, "now", at, sizeof at);
    if (qrc != HB_ENOTFOUND && (qrc != 0 || hb_time_parse(at, &now) != 0)) {
        d->api_refused++;
        hb_http_reply_error(req, 400, "bad_parameter", "now must be an RFC 3339 time");
        return;
    }
    json_t *o = branchd_hall_view(d, now);
    if (!o) {
        hb_http_reply_error(req, 503, "no_memory", "cannot build the hall's state now");
        return;
    }
    hb_http_reply_json(req, 200, o);
}

json_t *branchd_hall_view(branchd_t *d, int64_t now)
{
    const hb_hall_state_t *s = engine_state(d->engine);
    json_t *o = hb_hall_state_view(s, now);
    hb_hall_figures_t *f = branchd_api_figures(d, now);
    if (!o || !f || s_merge_figures(o, f) != 0) {
        json_decref(o);
        free(f);
        return NULL;
    }
    json_object_set_new(o, "hall", json_string(d->cfg.id));
    hb_open_info_t info;
    engine_open_info(d->engine, &info);
    json_object_set_new(o, "open", json_boolean(info.state == HB_OPEN_NOW));
    json_object_set_new(o, "open_state", json_string(hb_closed_reason_name(info.state)));
    if (info.state == HB_OPEN_NOW) {
        json_object_set_new(o, "closes", branchd_api_time_or_null(info.closes_ms));
    } else {
        json_object_set_new(o, "next_open", branchd_api_time_or_null(info.next_open_ms));
        json_object_set_new(o, "divert_to", branchd_api_divert_json(info.n_divert, info.divert_to));
        if (info.note)
            json_object_set_new(o, "notice", json_string(info.note));
    }
    /* The services this hall offers, with the advice due for each. */
    json_t *advice = json_array();
    const engine_config_t *cfg = engine_config(d->engine);
    for (size_t i = 0; i < cfg->n_services; i++) {
        json_t *a = branchd_api_advice_json(d, f, cfg->services[i].code);
        if (a) {
            json_object_set_new(a, "service", json_string(cfg->services[i].code));
            json_array_append_new(advice, a);
        }
    }
    free(f);
    json_object_set_new(o, "advice", advice);
    json_t *board = s_neighbours_json(d, NULL, 0);
    json_object_set_new(o, "neighbours", board ? board : json_null());
    json_object_set_new(
        o, "hall_name",
        json_string(d->cfg.hall_name && d->cfg.hall_name[0] ? d->cfg.hall_name : d->cfg.id));
    return o;
}

void branchd_api_get_services(hb_http_req_t *req, void *arg)
{
    branchd_t *d = arg;
    const engine_config_t *cfg = engine_config(d->engine);
    const hb_policy_t *p = engine_policy(d->engine);
    json_t *arr = json_array();
    for (size_t i = 0; i < cfg->n_services; i++) {
        const engine_service_t *s = &cfg->services[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "service", s->code, "name",
                                             s->name, "prefix", s->prefix, "max_wait_s",
                                             (json_int_t)hb_policy_max_wait_s(
                                                 p, s->code, HALLBUS__PRIORITY__PRIORITY_NORMAL)));
    }
    hb_http_reply_json(req, 200, json_pack("{s:o}", "services", arr));
}
