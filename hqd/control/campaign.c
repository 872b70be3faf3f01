/* Campaign documents, their lifecycle and the calendar (see campaign.h).
 *
 * The content a hall sees is read and written by common/rules/calendar.c, so HQ
 * and the halls share one set of rules and bounds; this file adds what only
 * HQ knows: owner, parent, scope, state and history. The lifecycle is one
 * table of allowed steps, used both to take a step and to check a stored
 * history. Campaigns are allocated one by one so that pointers handed out
 * stay put while the calendar's arrays grow. */
#include "campaign.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/ids.h"
#include "hallbus/idmap.h"
#include "hallbus/json.h"
#include "hallbus/names.h"
#include "hallbus/vec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_state_names[] = {"draft", "submitted", "approved", "published",
                                            "withdrawn"};
static const char *const s_action_names[] = {"create",  "edit",    "submit",  "return",
                                             "approve", "publish", "withdraw"};

/* The lifecycle: every allowed (action, from) and where it leads. */
static const struct step {
    campaign_action_t action;
    campaign_state_t from, to;
} s_steps[] = {
    {CAMPAIGN_SUBMIT, CAMPAIGN_DRAFT, CAMPAIGN_SUBMITTED},
    {CAMPAIGN_RETURN, CAMPAIGN_SUBMITTED, CAMPAIGN_DRAFT},
    {CAMPAIGN_APPROVE, CAMPAIGN_SUBMITTED, CAMPAIGN_APPROVED},
    {CAMPAIGN_PUBLISH, CAMPAIGN_APPROVED, CAMPAIGN_PUBLISHED},
    {CAMPAIGN_WITHDRAW, CAMPAIGN_APPROVED, CAMPAIGN_WITHDRAWN},
    {CAMPAIGN_WITHDRAW, CAMPAIGN_PUBLISHED, CAMPAIGN_WITHDRAWN},
};
#define STEPS (sizeof s_steps / sizeof s_steps[0])

/* The members a document carries besides hb_cal_campaign_t's content. */
static const char *const s_doc_extra[] = {"region", "parent", "scope", NULL};
static const char *const s_rec_extra[] = {"region",   "parent",  "scope",         "state",
                                          "revision", "history", "last_reviewed", NULL};

struct campaign_calendar {
    HB_VEC(campaign_t *) list; /* allocated one by one: pointers stay put */
    hb_idmap_t ids;            /* campaign id -> index in list */
    uint64_t version;
};

/* ------------------------------------------------------------ helpers ---- */

static int s_user_ok(const char *who, char *err, size_t errlen)
{
    if (!who || !hb_id_chars_ok(who, CAMPAIGN_USER_MAX - 1, ".@")) {
        hb_errf(err, errlen, "by: a user id is [A-Za-z0-9_.@-]{1,%d}", CAMPAIGN_USER_MAX - 1);
        return HB_EINVAL;
    }
    return 0;
}

static int s_note_ok(const char *note, char *err, size_t errlen)
{
    if (note && strlen(note) > CAMPAIGN_NOTE_MAX) {
        hb_errf(err, errlen, "note: %zu bytes, at most %d", strlen(note), CAMPAIGN_NOTE_MAX);
        return HB_EINVAL;
    }
    return 0;
}

HB_NAMES_NAMER(campaign_state_name, campaign_state_t, s_state_names)
HB_NAMES_PARSER(campaign_state_parse, campaign_state_t, s_state_names)

HB_NAMES_NAMER(campaign_action_name, campaign_action_t, s_action_names)
HB_NAMES_PARSER(campaign_action_parse, campaign_action_t, s_action_names)

/* Where `action` leads from `from`; -1 when the lifecycle does not allow it. */
static int s_step_to(campaign_action_t action, campaign_state_t from)
{
    for (size_t i = 0; i < STEPS; i++)
        if (s_steps[i].action == action && s_steps[i].from == from)
            return (int)s_steps[i].to;
    return -1;
}

/* "submitted" or "approved or published": the states `action` starts from. */
static void s_step_needs(campaign_action_t action, char *out, size_t len)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < STEPS; i++) {
        if (s_steps[i].action != action)
            continue;
        size_t used = strlen(out);
        hb_json_pathf(out + used, len - used, "%s%s", k++ ? " or " : "",
                      s_state_names[s_steps[i].from]);
    }
}

/* ---------------------------------------------------------- lifetime ---- */

static void s_history_free(campaign_event_t *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(h[i].note);
    free(h);
}

static void s_campaign_fini(campaign_t *c)
{
    hb_cal_campaign_clear(&c->doc);
    org_scope_destroy(&c->scope);
    s_history_free(c->history, c->n_history);
    json_decref(c->reviewed);
}

void campaign_destroy(campaign_t **c_p) { HB_DESTROY(c_p, s_campaign_fini); }

/* ------------------------------------------------------------ parsing ---- */

/* Member `key` of `doc`, an id (a string of [A-Za-z0-9_-], 1 to outlen - 1
 * of them: `what`) copied into `out`. A missing one is refused saying
 * `missing`, or left out (`out` untouched) when `missing` is NULL. */
static int s_id_member(const json_t *doc, const char *key, const char *missing, const char *what,
                       char *out, size_t outlen, char *err, size_t errlen)
{
    const json_t *v = json_object_get(doc, key);
    if (!v && !missing)
        return 0;
    if (!v) {
        hb_errf(err, errlen, "%s: missing (%s)", key, missing);
        return HB_EINVAL;
    }
    const char *s = json_string_value(v);
    if (!json_is_string(v) || strlen(s) != json_string_length(v) ||
        !hb_id_chars_ok(s, outlen - 1, NULL)) {
        hb_errf(err, errlen, "%s: must be %s ([A-Za-z0-9_-]{1,%d})", key, what, (int)outlen - 1);
        return HB_EINVAL;
    }
    snprintf(out, outlen, "%s", s);
    return 0;
}

/* The document members: content, region, parent, scope. */
static int s_parse_doc(const json_t *doc, const char *const *extra, campaign_t *c, char *err,
                       size_t errlen)
{
    int rc = hb_cal_campaign_parse(doc, extra, "", &c->doc, err, errlen);
    if (rc != 0)
        return rc;
    rc = s_id_member(doc, "region", "the owning region", "a region id", c->region, sizeof c->region,
                     err, errlen);
    if (rc == 0)
        rc = s_id_member(doc, "parent", NULL, "a campaign id", c->parent, sizeof c->parent, err,
                         errlen);
    if (rc != 0)
        return rc;
    const json_t *v = json_object_get(doc, "scope");
    if (!v) {
        hb_errf(err, errlen, "scope: missing (give {} for every hall of the owner region)");
        return HB_EINVAL;
    }
    return org_scope_parse(v, "scope", &c->scope, err, errlen);
}

/* A new campaign, unpublished, at revision 1, from the document's members
 * and `extra` ones: what a draft and a stored record both start from. */
static int s_new_from(const json_t *doc, const char *const *extra, campaign_t **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    if (!json_is_object(doc)) {
        hb_errf(err, errlen, "campaign: must be an object");
        return HB_EINVAL;
    }
    campaign_t *c = calloc(1, sizeof *c);
    if (!c)
        return hb_err_nomem(err, errlen);
    c->published_ms = -1;
    c->revision = 1;
    int rc = s_parse_doc(doc, extra, c, err, errlen);
    if (rc != 0) {
        campaign_destroy(&c);
        return rc;
    }
    *out = c;
    return 0;
}

int campaign_parse(const json_t *doc, campaign_t **out, char *err, size_t errlen)
{
    return s_new_from(doc, s_doc_extra, out, err, errlen);
}

/* One history entry of the stored form. */
static int s_event_read(const json_t *e, const char *p, campaign_event_t *ev, char *err,
                        size_t errlen)
{
    static const char *const members[] = {"action", "from", "to", "by", "at_ms", "note", NULL};
    int rc = hb_json_object_known(e, members, NULL, p, NULL, "{action, from, to, by, at_ms}", err,
                                  errlen);
    if (rc != 0)
        return rc;
    if (campaign_action_parse(json_string_value(json_object_get(e, "action")), &ev->action) != 0) {
        hb_errf(err, errlen,
                "%s.action: must be one of create, edit, submit, return, approve, "
                "publish, withdraw",
                p);
        return HB_EINVAL;
    }
    if (campaign_state_parse(json_string_value(json_object_get(e, "from")), &ev->from) != 0 ||
        campaign_state_parse(json_string_value(json_object_get(e, "to")), &ev->to) != 0) {
        hb_errf(err, errlen,
                "%s: \"from\" and \"to\" must be states (draft, submitted, approved, "
                "published, withdrawn)",
                p);
        return HB_EINVAL;
    }
    const char *by = json_string_value(json_object_get(e, "by"));
    if (s_user_ok(by, NULL, 0) != 0) {
        hb_errf(err, errlen, "%s.by: a user id is [A-Za-z0-9_.@-]{1,%d}", p, CAMPAIGN_USER_MAX - 1);
        return HB_EINVAL;
    }
    snprintf(ev->by, sizeof ev->by, "%s", by);
    const json_t *at = json_object_get(e, "at_ms");
    if (!json_is_integer(at) || json_integer_value(at) < 0) {
        hb_errf(err, errlen, "%s.at_ms: must be an integer >= 0 (ms since the epoch)", p);
        return HB_EINVAL;
    }
    ev->at_ms = json_integer_value(at);
    const json_t *note = json_object_get(e, "note");
    if (note) {
        const char *ns = json_string_value(note);
        if (!json_is_string(note) || strlen(ns) != json_string_length(note) ||
            strlen(ns) > CAMPAIGN_NOTE_MAX) {
            hb_errf(err, errlen, "%s.note: must be a string of at most %d bytes", p,
                    CAMPAIGN_NOTE_MAX);
            return HB_EINVAL;
        }
        ev->note = strdup(ns);
        if (!ev->note)
            return hb_err_nomem(err, errlen);
    }
    return 0;
}

/* The history must be a path through the lifecycle: it starts with create,
 * each step is allowed from where the previous one left, time does not run
 * backwards, and it ends in the recorded state. */
static int s_history_read(const json_t *a, campaign_t *c, char *err, size_t errlen)
{
    if (!json_is_array(a)) {
        hb_errf(err, errlen, "history: %s", a ? "must be an array" : "missing");
        return HB_EINVAL;
    }
    size_t n = json_array_size(a);
    if (n > CAMPAIGN_HISTORY_MAX) {
        hb_errf(err, errlen, "history: %zu entries, at most %d", n, CAMPAIGN_HISTORY_MAX);
        return HB_EINVAL;
    }
    if (n == 0) {
        if (c->state != CAMPAIGN_DRAFT) {
            hb_errf(err, errlen, "history: empty, but the campaign is %s", s_state_names[c->state]);
            return HB_EINVAL;
        }
        return 0;
    }
    c->history = calloc(n, sizeof *c->history);
    if (!c->history)
        return hb_err_nomem(err, errlen);
    campaign_state_t at = CAMPAIGN_DRAFT;
    for (size_t i = 0; i < n; i++) {
        char p[HB_JSON_PATH_MAX];
        hb_json_pathf(p, sizeof p, "history[%zu]", i);
        campaign_event_t *ev = &c->history[i];
        c->n_history = i + 1;
        int rc = s_event_read(json_array_get(a, i), p, ev, err, errlen);
        if (rc != 0)
            return rc;
        bool keeps = ev->action == CAMPAIGN_CREATE || ev->action == CAMPAIGN_EDIT;
        int to = keeps ? (int)CAMPAIGN_DRAFT : s_step_to(ev->action, ev->from);
        if ((i == 0) != (ev->action == CAMPAIGN_CREATE)) {
            hb_errf(err, errlen, "%s.action: %s", p,
                    i == 0 ? "the history starts with create" : "create comes only first");
            return HB_EINVAL;
        }
        if (ev->from != at || to < 0 || (int)ev->to != to || (keeps && at != CAMPAIGN_DRAFT)) {
            hb_errf(err, errlen, "%s: %s from %s to %s is not a step of the lifecycle here", p,
                    s_action_names[ev->action], s_state_names[ev->from], s_state_names[ev->to]);
            return HB_EINVAL;
        }
        if (i > 0 && ev->at_ms < c->history[i - 1].at_ms) {
            hb_errf(err, errlen, "%s.at_ms: earlier than the step before", p);
            return HB_EINVAL;
        }
        if (ev->action == CAMPAIGN_PUBLISH)
            c->published_ms = ev->at_ms;
        at = ev->to;
    }
    if (at != c->state) {
        hb_errf(err, errlen, "state: \"%s\", but the history ends in \"%s\"",
                s_state_names[c->state], s_state_names[at]);
        return HB_EINVAL;
    }
    return 0;
}

/* The stored "last_reviewed" (absent: never reviewed). */
static int s_reviewed_read(const json_t *r, campaign_t *c, char *err, size_t errlen)
{
    static const char *const members[] = {"action", "by", "at_ms", "revision", "document", NULL};
    if (!r)
        return 0;
    int rc = hb_json_object_known(r, members, NULL, "last_reviewed", NULL,
                                  "{action, by, at_ms, revision, document}", err, errlen);
    if (rc != 0)
        return rc;
    campaign_action_t action;
    const char *by = json_string_value(json_object_get(r, "by"));
    const json_t *at = json_object_get(r, "at_ms"), *rev = json_object_get(r, "revision");
    if (campaign_action_parse(json_string_value(json_object_get(r, "action")), &action) != 0 ||
        (action != CAMPAIGN_RETURN && action != CAMPAIGN_APPROVE)) {
        hb_errf(err, errlen, "last_reviewed.action: must be \"return\" or \"approve\"");
        return HB_EINVAL;
    }
    if (!by || !hb_id_chars_ok(by, CAMPAIGN_USER_MAX - 1, ".@")) {
        hb_errf(err, errlen, "last_reviewed.by: a user id is [A-Za-z0-9_.@-]{1,%d}",
                CAMPAIGN_USER_MAX - 1);
        return HB_EINVAL;
    }
    if (!json_is_integer(at) || json_integer_value(at) < 0 || !json_is_integer(rev) ||
        json_integer_value(rev) < 1 || (uint64_t)json_integer_value(rev) > c->revision) {
        hb_errf(err, errlen, "last_reviewed: at_ms must be >= 0 and revision 1..%llu",
                (unsigned long long)c->revision);
        return HB_EINVAL;
    }
    const json_t *doc = json_object_get(r, "document");
    campaign_t *then = NULL;
    char inner[256];
    rc = campaign_parse(doc, &then, inner, sizeof inner);
    if (rc == 0 && strcmp(then->doc.id, c->doc.id) != 0) {
        snprintf(inner, sizeof inner, "id: \"%s\", not this campaign's", then->doc.id);
        rc = HB_EINVAL;
    }
    campaign_destroy(&then);
    if (rc != 0) {
        hb_errf(err, errlen, "last_reviewed.document.%s", inner);
        return rc;
    }
    c->reviewed = json_deep_copy(doc);
    if (!c->reviewed)
        return hb_err_nomem(err, errlen);
    c->reviewed_action = action;
    snprintf(c->reviewed_by, sizeof c->reviewed_by, "%s", by);
    c->reviewed_ms = json_integer_value(at);
    c->reviewed_revision = (uint64_t)json_integer_value(rev);
    return 0;
}

int campaign_from_json(const json_t *rec, campaign_t **out, char *err, size_t errlen)
{
    *out = NULL;
    campaign_t *c = NULL;
    int rc = s_new_from(rec, s_rec_extra, &c, err, errlen);
    if (rc != 0)
        return rc;
    if (campaign_state_parse(json_string_value(json_object_get(rec, "state")), &c->state) != 0) {
        hb_errf(err, errlen,
                "state: must be one of draft, submitted, approved, published, withdrawn");
        rc = HB_EINVAL;
        goto fail;
    }
    const json_t *rev = json_object_get(rec, "revision");
    if (!json_is_integer(rev) || json_integer_value(rev) < 1) {
        hb_errf(err, errlen, "revision: must be an integer >= 1");
        rc = HB_EINVAL;
        goto fail;
    }
    c->revision = (uint64_t)json_integer_value(rev);
    rc = s_history_read(json_object_get(rec, "history"), c, err, errlen);
    if (rc == 0)
        rc = s_reviewed_read(json_object_get(rec, "last_reviewed"), c, err, errlen);
    if (rc != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    campaign_destroy(&c);
    return rc;
}

/* ------------------------------------------------------------ writing ---- */

json_t *campaign_document_to_json(const campaign_t *c)
{
    json_t *content = hb_cal_campaign_to_json(&c->doc);
    json_t *o = json_object();
    bool bad = false;
    if (!content || !o) {
        json_decref(content);
        json_decref(o);
        return NULL;
    }
    /* The owner, parent and scope go right after the level, where a reader
     * of the document looks for them. */
    const char *key;
    json_t *v;
    json_object_foreach (content, key, v) {
        hb_json_set(o, key, json_incref(v), &bad);
        if (strcmp(key, "level") == 0) {
            hb_json_set(o, "region", json_string(c->region), &bad);
            if (c->parent[0])
                hb_json_set(o, "parent", json_string(c->parent), &bad);
            hb_json_set(o, "scope", org_scope_to_json(c->scope), &bad);
        }
    }
    json_decref(content);
    return hb_json_built(o, bad);
}

json_t *campaign_to_json(const campaign_t *c)
{
    json_t *o = campaign_document_to_json(c);
    json_t *hist = json_array();
    /* A failed allocation shows as `bad`: hb_json_set takes NULL on either side. */
    bool bad = false;
    hb_json_set(o, "state", json_string(s_state_names[c->state]), &bad);
    hb_json_set(o, "revision", json_integer((json_int_t)c->revision), &bad);
    for (size_t i = 0; i < c->n_history && !bad; i++) {
        const campaign_event_t *ev = &c->history[i];
        json_t *e = json_object();
        hb_json_set(e, "action", json_string(s_action_names[ev->action]), &bad);
        hb_json_set(e, "from", json_string(s_state_names[ev->from]), &bad);
        hb_json_set(e, "to", json_string(s_state_names[ev->to]), &bad);
        hb_json_set(e, "by", json_string(ev->by), &bad);
        hb_json_set(e, "at_ms", json_integer((json_int_t)ev->at_ms), &bad);
        if (ev->note)
            hb_json_set(e, "note", json_string(ev->note), &bad);
        hb_json_append(hist, e, &bad);
    }
    hb_json_set(o, "history", hist, &bad);
    if (c->reviewed && !bad)
        hb_json_set(o, "last_reviewed",
                    json_pack("{s:s, s:s, s:I, s:I, s:O}", "action",
                              s_action_names[c->reviewed_action], "by", c->reviewed_by, "at_ms",
                              (json_int_t)c->reviewed_ms, "revision",
                              (json_int_t)c->reviewed_revision, "document", c->reviewed),
                    &bad);
    return hb_json_built(o, bad);
}

/* --------------------------------------------------------- lifecycle ---- */

static int s_record(campaign_t *c, campaign_action_t action, campaign_state_t to, const char *who,
                    int64_t at_ms, const char *note, char *err, size_t errlen)
{
    if (c->n_history >= CAMPAIGN_HISTORY_MAX) {
        hb_errf(err, errlen, "campaign %s: its history is full (%d steps); copy it under a new id",
                c->doc.id, CAMPAIGN_HISTORY_MAX);
        return HB_ETOOBIG;
    }
    char *note_copy = NULL;
    if (note) {
        note_copy = strdup(note);
        if (!note_copy)
            return hb_err_nomem(err, errlen);
    }
    campaign_event_t *h = realloc(c->history, (c->n_history + 1) * sizeof *h);
    if (!h) {
        free(note_copy);
        return hb_err_nomem(err, errlen);
    }
    c->history = h;
    campaign_event_t *ev = &h[c->n_history++];
    memset(ev, 0, sizeof *ev);
    ev->action = action;
    ev->from = c->state;
    ev->to = to;
    snprintf(ev->by, sizeof ev->by, "%s", who);
    ev->at_ms = at_ms;
    ev->note = note_copy;
    c->state = to;
    c->revision++;
    if (action == CAMPAIGN_PUBLISH)
        c->published_ms = at_ms;
    return 0;
}

static int s_actor_ok(const char *who, int64_t at_ms, const char *note, char *err, size_t errlen)
{
    int rc = s_user_ok(who, err, errlen);
    if (rc == 0 && at_ms < 0) {
        hb_errf(err, errlen, "at_ms: must be >= 0 (ms since the epoch)");
        rc = HB_EINVAL;
    }
    if (rc == 0)
        rc = s_note_ok(note, err, errlen);
    return rc;
}

int campaign_transition(campaign_t *c, campaign_action_t action, const char *who, int64_t at_ms,
                        const char *note, char *err, size_t errlen)
{
    if (action == CAMPAIGN_CREATE || action == CAMPAIGN_EDIT ||
        (unsigned)action > CAMPAIGN_WITHDRAW) {
        hb_errf(err, errlen, "action: %s is not a lifecycle step", campaign_action_name(action));
        return HB_EINVAL;
    }
    int rc = s_actor_ok(who, at_ms, note, err, errlen);
    if (rc != 0)
        return rc;
    int to = s_step_to(action, c->state);
    if (to < 0) {
        char needs[64];
        s_step_needs(action, needs, sizeof needs);
        hb_errf(err, errlen, "campaign %s is %s: %s needs %s", c->doc.id, s_state_names[c->state],
                s_action_names[action], needs);
        return HB_ECONFLICT;
    }
    rc = campaign_four_eyes(c, action, who, err, errlen);
    if (rc != 0)
        return rc;
    /* A review's verdict: what it judged is kept (made first, so that a
     * failure changes nothing). */
    bool review = action == CAMPAIGN_RETURN || action == CAMPAIGN_APPROVE;
    json_t *judged = review ? campaign_document_to_json(c) : NULL;
    if (review && !judged)
        return hb_err_nomem(err, errlen);
    rc = s_record(c, action, (campaign_state_t)to, who, at_ms, note, err, errlen);
    if (rc != 0 || !review) {
        json_decref(judged);
        return rc;
    }
    json_decref(c->reviewed);
    c->reviewed = judged;
    c->reviewed_action = action;
    snprintf(c->reviewed_by, sizeof c->reviewed_by, "%s", who);
    c->reviewed_ms = at_ms;
    c->reviewed_revision = c->revision;
    return 0;
}

int campaign_four_eyes(const campaign_t *c, campaign_action_t action, const char *who, char *err,
                       size_t errlen)
{
    if (action != CAMPAIGN_APPROVE && action != CAMPAIGN_PUBLISH)
        return 0;
    /* The author is who created it; the last editor, whoever made its last
     * create or edit step (consecutive edits by one person are one). */
    const char *author = c->n_history ? c->history[0].by : "";
    const char *editor = author;
    for (size_t i = c->n_history; i-- > 0;) {
        if (c->history[i].action == CAMPAIGN_EDIT || c->history[i].action == CAMPAIGN_CREATE) {
            editor = c->history[i].by;
            break;
        }
    }
    const char *role = strcmp(author, who) == 0   ? "created"
                       : strcmp(editor, who) == 0 ? "last edited"
                                                  : NULL;
    if (!role)
        return 0;
    hb_errf(err, errlen, "four eyes: %s %s campaign %s and may not %s it; another reviewer must",
            who, role, c->doc.id, s_action_names[action]);
    return HB_EAUTH;
}

bool campaign_published_day(const campaign_t *c, int32_t *day)
{
    if (c->published_ms < 0)
        return false;
    *day = hb_cal_day_of_ms(c->published_ms);
    return true;
}

/* -------------------------------------------------------- validation ---- */

int campaign_resolve(const campaign_t *c, const org_t *org, uint64_t *bits, size_t words,
                     size_t *count, char *err, size_t errlen)
{
    return org_scope_resolve(org, c->region, c->scope, bits, words, count, err, errlen);
}

static int s_validate_org(const campaign_t *c, const org_t *org, char *err, size_t errlen)
{
    static const org_level_t owner_level[] = {ORG_NATIONAL, ORG_PROVINCE, ORG_CITY};
    const org_region_t *r = org_region_find(org, c->region);
    if (!r) {
        hb_errf(err, errlen, "region: unknown region \"%s\"", c->region);
        return HB_EINVAL;
    }
    if (r->level != owner_level[c->doc.level]) {
        hb_errf(err, errlen, "region: \"%s\" is a %s region; a %s campaign is owned by %s", r->id,
                org_level_name(r->level), hb_cal_level_name(c->doc.level),
                c->doc.level == HB_CAL_HEAD_OFFICE ? "the national region"
                : c->doc.level == HB_CAL_PROVINCE  ? "a province"
                                                   : "a city");
        return HB_EINVAL;
    }
    size_t words = org_bitset_words(org);
    uint64_t *bits = calloc(words ? words : 1, sizeof *bits);
    if (!bits)
        return hb_err_nomem(err, errlen);
    int rc = campaign_resolve(c, org, bits, words ? words : 1, NULL, err, errlen);
    free(bits);
    return rc;
}

static int s_validate_parent(const campaign_t *c, const campaign_calendar_t *cal, char *err,
                             size_t errlen)
{
    if (!c->parent[0])
        return 0;
    if (strcmp(c->parent, c->doc.id) == 0) {
        hb_errf(err, errlen, "parent: a campaign is not its own parent");
        return HB_EINVAL;
    }
    const campaign_t *p = campaign_calendar_find(cal, c->parent);
    if (!p) {
        hb_errf(err, errlen, "parent: unknown campaign \"%s\"", c->parent);
        return HB_EINVAL;
    }
    /* Walk up from the parent as the calendar has it: meeting this
     * campaign's own id means the new parent would close a loop. */
    for (int depth = 1; p; depth++) {
        if (strcmp(p->doc.id, c->doc.id) == 0) {
            hb_errf(err, errlen, "parent: \"%s\" descends from \"%s\" (a cycle of parents)",
                    c->parent, c->doc.id);
            return HB_EINVAL;
        }
        if (depth > CAMPAIGN_PARENT_DEPTH_MAX) {
            hb_errf(err, errlen, "parent: more than %d campaigns above this one",
                    CAMPAIGN_PARENT_DEPTH_MAX);
            return HB_EINVAL;
        }
        p = p->parent[0] ? campaign_calendar_find(cal, p->parent) : NULL;
    }
    return 0;
}

int campaign_validate(const campaign_t *c, const org_t *org, const campaign_calendar_t *cal,
                      char *err, size_t errlen)
{
    int rc = org ? s_validate_org(c, org, err, errlen) : 0;
    if (rc == 0 && cal)
        rc = s_validate_parent(c, cal, err, errlen);
    return rc;
}

/* ---------------------------------------------------------- calendar ---- */

static const void *s_id_of(const void *cal, uint32_t i)
{
    return ((const campaign_calendar_t *)cal)->list.v[i]->doc.id;
}

campaign_calendar_t *campaign_calendar_new(void)
{
    campaign_calendar_t *cal = calloc(1, sizeof *cal);
    if (!cal)
        return NULL;
    cal->list.max = CAMPAIGN_CALENDAR_MAX;
    hb_idmap_init(&cal->ids, CAMPAIGN_CALENDAR_MAX, s_id_of);
    return cal;
}

static void s_calendar_fini(campaign_calendar_t *cal)
{
    for (size_t i = 0; i < cal->list.n; i++)
        campaign_destroy(&cal->list.v[i]);
    hb_vec_free(&cal->list);
    hb_idmap_free(&cal->ids);
}

void campaign_calendar_destroy(campaign_calendar_t **cal_p) { HB_DESTROY(cal_p, s_calendar_fini); }

static campaign_t *s_find_mut(const campaign_calendar_t *cal, const char *id)
{
    int32_t i = hb_idmap_find(&cal->ids, cal, id);
    return i < 0 ? NULL : cal->list.v[i];
}

const campaign_t *campaign_calendar_find(const campaign_calendar_t *cal, const char *id)
{
    return s_find_mut(cal, id);
}

size_t campaign_calendar_count(const campaign_calendar_t *cal) { return cal->list.n; }

const campaign_t *campaign_calendar_at(const campaign_calendar_t *cal, size_t i)
{
    return i < cal->list.n ? cal->list.v[i] : NULL;
}

uint64_t campaign_calendar_version(const campaign_calendar_t *cal) { return cal->version; }

void campaign_calendar_bump(campaign_calendar_t *cal)
{
    if (cal->version > 0)
        cal->version++;
}

bool campaign_calendar_is_ancestor(const campaign_calendar_t *cal, const campaign_t *ancestor,
                                   const campaign_t *c)
{
    const campaign_t *p = c;
    for (int depth = 0; depth < CAMPAIGN_PARENT_DEPTH_MAX && p && p->parent[0]; depth++) {
        if (strcmp(p->parent, ancestor->doc.id) == 0)
            return true;
        p = campaign_calendar_find(cal, p->parent);
    }
    return false;
}

/* Takes ownership of `c` (an id not in the calendar yet). */
static int s_insert(campaign_calendar_t *cal, campaign_t *c, char *err, size_t errlen)
{
    if (hb_vec_full(&cal->list)) {
        hb_errf(err, errlen, "calendar: full (%d campaigns)", CAMPAIGN_CALENDAR_MAX);
        return HB_ETOOBIG;
    }
    campaign_t **slot = hb_vec_push(&cal->list);
    if (!slot)
        return hb_err_nomem(err, errlen);
    *slot = c;
    if (hb_idmap_add(&cal->ids, cal, (uint32_t)(cal->list.n - 1)) != 0) {
        cal->list.n--;
        return hb_err_nomem(err, errlen);
    }
    return 0;
}

/* A document `who` sends at `at_ms`, parsed: the actor is checked first. */
static int s_parse_by(const char *who, int64_t at_ms, const json_t *doc, campaign_t **out,
                      char *err, size_t errlen)
{
    int rc = s_actor_ok(who, at_ms, NULL, err, errlen);
    return rc != 0 ? rc : campaign_parse(doc, out, err, errlen);
}

int campaign_calendar_add(campaign_calendar_t *cal, const org_t *org, const json_t *doc,
                          const char *who, int64_t at_ms, const campaign_t **out, char *err,
                          size_t errlen)
{
    if (out)
        *out = NULL;
    campaign_t *c = NULL;
    int rc = s_parse_by(who, at_ms, doc, &c, err, errlen);
    if (rc != 0)
        return rc;
    if (campaign_calendar_find(cal, c->doc.id)) {
        hb_errf(err, errlen, "id: a campaign \"%s\" exists already", c->doc.id);
        rc = HB_EEXIST;
        goto fail;
    }
    rc = campaign_validate(c, org, cal, err, errlen);
    if (rc != 0)
        goto fail;
    c->revision = 0; /* the create step makes it 1 */
    rc = s_record(c, CAMPAIGN_CREATE, CAMPAIGN_DRAFT, who, at_ms, NULL, err, errlen);
    if (rc == 0)
        rc = s_insert(cal, c, err, errlen);
    if (rc != 0)
        goto fail;
    if (out)
        *out = c;
    return 0;
fail:
    campaign_destroy(&c);
    return rc;
}

int campaign_calendar_edit(campaign_calendar_t *cal, const org_t *org, const json_t *doc,
                           const char *who, int64_t at_ms, char *err, size_t errlen)
{
    campaign_t *fresh = NULL;
    int rc = s_parse_by(who, at_ms, doc, &fresh, err, errlen);
    if (rc != 0)
        return rc;
    campaign_t *c = s_find_mut(cal, fresh->doc.id);
    if (!c) {
        hb_errf(err, errlen, "id: no campaign \"%s\"", fresh->doc.id);
        rc = HB_ENOTFOUND;
        goto out;
    }
    if (c->state != CAMPAIGN_DRAFT) {
        hb_errf(err, errlen, "campaign %s is %s: only a draft can be edited%s", c->doc.id,
                s_state_names[c->state],
                c->state == CAMPAIGN_SUBMITTED ? " (return it to draft first)" : "");
        rc = HB_ECONFLICT;
        goto out;
    }
    rc = campaign_validate(fresh, org, cal, err, errlen);
    if (rc != 0)
        goto out;
    /* Consecutive edits by one user are one step: a draft saved every few
     * minutes must not fill the history. */
    campaign_event_t *last = c->n_history ? &c->history[c->n_history - 1] : NULL;
    if (last && last->action == CAMPAIGN_EDIT && strcmp(last->by, who) == 0 &&
        at_ms >= last->at_ms) {
        last->at_ms = at_ms;
        c->revision++;
    } else {
        rc = s_record(c, CAMPAIGN_EDIT, CAMPAIGN_DRAFT, who, at_ms, NULL, err, errlen);
        if (rc != 0)
            goto out;
    }
    hb_cal_campaign_t tmp_doc = c->doc;
    org_scope_t *tmp_scope = c->scope;
    c->doc = fresh->doc;
    c->scope = fresh->scope;
    memcpy(c->region, fresh->region, sizeof c->region);
    memcpy(c->parent, fresh->parent, sizeof c->parent);
    fresh->doc = tmp_doc;
    fresh->scope = tmp_scope;
out:
    campaign_destroy(&fresh);
    return rc;
}

int campaign_calendar_remove(campaign_calendar_t *cal, const char *id, char *err, size_t errlen)
{
    int32_t found = hb_idmap_find(&cal->ids, cal, id);
    if (found < 0) {
        hb_errf(err, errlen, "id: no campaign \"%s\"", id);
        return HB_ENOTFOUND;
    }
    size_t i = (size_t)found;
    campaign_t *c = cal->list.v[i];
    if (c->state != CAMPAIGN_DRAFT) {
        hb_errf(err, errlen, "campaign %s is %s: only a draft can be removed (withdraw it instead)",
                id, s_state_names[c->state]);
        return HB_ECONFLICT;
    }
    for (size_t k = 0; k < cal->list.n; k++) {
        if (strcmp(cal->list.v[k]->parent, id) == 0) {
            hb_errf(err, errlen, "campaign %s is the parent of %s", id, cal->list.v[k]->doc.id);
            return HB_ECONFLICT;
        }
    }
    /* The last campaign takes its place (the map renumbers it while its
     * old place still holds it). */
    hb_idmap_remove(&cal->ids, cal, c->doc.id);
    size_t last = cal->list.n - 1;
    if (i != last) {
        cal->list.v[i] = cal->list.v[last];
        hb_idmap_renumber(&cal->ids, cal, cal->list.v[i]->doc.id, (uint32_t)i);
    }
    cal->list.n--;
    campaign_destroy(&c);
    return 0;
}

int campaign_calendar_transition(campaign_calendar_t *cal, const char *id, campaign_action_t action,
                                 const char *who, int64_t at_ms, const char *note, char *err,
                                 size_t errlen)
{
    campaign_t *c = s_find_mut(cal, id);
    if (!c) {
        hb_errf(err, errlen, "id: no campaign \"%s\"", id);
        return HB_ENOTFOUND;
    }
    bool was_published = c->state == CAMPAIGN_PUBLISHED;
    int rc = campaign_transition(c, action, who, at_ms, note, err, errlen);
    if (rc == 0 && (c->state == CAMPAIGN_PUBLISHED || was_published))
        cal->version++;
    return rc;
}

int campaign_calendar_publish_approved(campaign_calendar_t *cal, const char *who, int64_t at_ms,
                                       size_t *n_published, char *err, size_t errlen)
{
    size_t n = 0;
    if (n_published)
        *n_published = 0;
    int rc = s_actor_ok(who, at_ms, NULL, err, errlen);
    for (size_t i = 0; rc == 0 && i < cal->list.n; i++) {
        if (cal->list.v[i]->state != CAMPAIGN_APPROVED)
            continue;
        rc = campaign_transition(cal->list.v[i], CAMPAIGN_PUBLISH, who, at_ms, NULL, err, errlen);
        if (rc == 0)
            n++;
    }
    /* Whatever was published before a failure is published: the version
     * moves so that halls get it. */
    if (n)
        cal->version++;
    if (n_published)
        *n_published = n;
    return rc;
}

static int s_by_id(const void *a, const void *b)
{
    const campaign_t *x = *(const campaign_t *const *)a, *y = *(const campaign_t *const *)b;
    return strcmp(x->doc.id, y->doc.id);
}

json_t *campaign_calendar_to_json(const campaign_calendar_t *cal)
{
    const campaign_t **sorted = malloc((cal->list.n ? cal->list.n : 1) * sizeof *sorted);
    json_t *doc = json_object(), *list = json_array();
    bool bad = false;
    if (!sorted || !doc || !list) {
        free(sorted);
        json_decref(doc);
        json_decref(list);
        return NULL;
    }
    for (size_t i = 0; i < cal->list.n; i++)
        sorted[i] = cal->list.v[i];
    qsort(sorted, cal->list.n, sizeof *sorted, s_by_id);
    for (size_t i = 0; i < cal->list.n && !bad; i++) {
        json_t *c = campaign_to_json(sorted[i]);
        if (!c || json_array_append_new(list, c) != 0)
            bad = true;
    }
    free(sorted);
    hb_json_set(doc, "version", json_integer((json_int_t)cal->version), &bad);
    hb_json_set(doc, "campaigns", list, &bad);
    return hb_json_built(doc, bad);
}

int campaign_calendar_from_json(const json_t *doc, campaign_calendar_t **out, char *err,
                                size_t errlen)
{
    *out = NULL;
    static const char *const members[] = {"version", "campaigns", NULL};
    int rc = hb_json_object_known(doc, members, NULL, "calendar", NULL, "{version, campaigns}", err,
                                  errlen);
    if (rc != 0)
        return rc;
    const json_t *ver = json_object_get(doc, "version");
    const json_t *list = json_object_get(doc, "campaigns");
    if (!json_is_integer(ver) || json_integer_value(ver) < 0) {
        hb_errf(err, errlen, "version: must be an integer >= 0");
        return HB_EINVAL;
    }
    if (!json_is_array(list)) {
        hb_errf(err, errlen, "campaigns: %s", list ? "must be an array" : "missing");
        return HB_EINVAL;
    }
    if (json_array_size(list) > CAMPAIGN_CALENDAR_MAX) {
        hb_errf(err, errlen, "campaigns: %zu campaigns, at most %d", json_array_size(list),
                CAMPAIGN_CALENDAR_MAX);
        return HB_ETOOBIG;
    }
    campaign_calendar_t *cal = campaign_calendar_new();
    if (!cal)
        return hb_err_nomem(err, errlen);
    cal->version = (uint64_t)json_integer_value(ver);
    char inner[256];
    bool published = false;
    for (size_t i = 0; rc == 0 && i < json_array_size(list); i++) {
        campaign_t *c = NULL;
        rc = campaign_from_json(json_array_get(list, i), &c, inner, sizeof inner);
        if (rc != 0) {
            hb_errf(err, errlen, "campaigns[%zu].%s", i, inner);
            break;
        }
        if (campaign_calendar_find(cal, c->doc.id)) {
            hb_errf(err, errlen, "campaigns[%zu].id: \"%s\" given twice", i, c->doc.id);
            campaign_destroy(&c);
            rc = HB_EINVAL;
            break;
        }
        published = published || c->published_ms >= 0;
        rc = s_insert(cal, c, err, errlen);
        if (rc != 0)
            campaign_destroy(&c);
    }
    for (size_t i = 0; rc == 0 && i < cal->list.n; i++) {
        rc = s_validate_parent(cal->list.v[i], cal, inner, sizeof inner);
        if (rc != 0)
            hb_errf(err, errlen, "campaign %s: %s", cal->list.v[i]->doc.id, inner);
    }
    if (rc == 0 && published && cal->version == 0) {
        hb_errf(err, errlen, "version: 0, but campaigns have been published");
        rc = HB_EINVAL;
    }
    if (rc != 0) {
        campaign_calendar_destroy(&cal);
        return rc;
    }
    *out = cal;
    return 0;
}

/* ------------------------------------------------------------- slices ---- */

static bool s_in_slice(const campaign_t *c, int32_t from_day)
{
    return c->state == CAMPAIGN_PUBLISHED && c->doc.end >= from_day;
}

int campaign_calendar_slice(const campaign_calendar_t *cal, const org_t *org, const char *hall,
                            int32_t from_day, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    const org_hall_t *h = org_hall_find(org, hall);
    if (!h) {
        hb_errf(err, errlen, "hall: unknown hall \"%s\"", hall);
        return HB_ENOTFOUND;
    }
    if (cal->version == 0) {
        hb_errf(err, errlen, "calendar: nothing has been published yet");
        return HB_ENOTFOUND;
    }
    size_t words = org_bitset_words(org);
    uint64_t *bits = calloc(words, sizeof *bits);
    const hb_cal_campaign_t *chosen[HB_CAL_SLICE_MAX];
    size_t n = 0;
    int rc = 0;
    if (!bits)
        return hb_err_nomem(err, errlen);
    for (size_t i = 0; i < cal->list.n; i++) {
        const campaign_t *c = cal->list.v[i];
        if (!s_in_slice(c, from_day) || campaign_resolve(c, org, bits, words, NULL, NULL, 0) != 0)
            continue;
        if (!org_bit_test(bits, h->index))
            continue;
        if (n >= HB_CAL_SLICE_MAX) {
            hb_errf(err, errlen, "hall %s: more than %d published campaigns from this day on", hall,
                    HB_CAL_SLICE_MAX);
            rc = HB_ETOOBIG;
            goto out;
        }
        chosen[n++] = &c->doc;
    }
    rc = hb_cal_slice_build(cal->version, hall, chosen, n, out, err, errlen);
out:
    free(bits);
    return rc;
}

static int s_by_start_id(const void *a, const void *b)
{
    const campaign_t *x = *(const campaign_t *const *)a, *y = *(const campaign_t *const *)b;
    if (x->doc.start != y->doc.start)
        return x->doc.start < y->doc.start ? -1 : 1;
    return strcmp(x->doc.id, y->doc.id);
}

/* One slice document from campaign objects already made: the same document
 * hb_cal_slice_build makes, without making each campaign's JSON once per
 * hall. */
static json_t *s_slice_doc(uint64_t version, const char *hall, json_t *const *docs,
                           const uint32_t *which, size_t n)
{
    json_t *doc = json_object(), *list = json_array();
    bool bad = false;
    if (!doc || !list) {
        json_decref(doc);
        json_decref(list);
        return NULL;
    }
    hb_json_set(doc, "version", json_integer((json_int_t)version), &bad);
    hb_json_set(doc, "hall", json_string(hall), &bad);
    for (size_t k = 0; k < n && !bad; k++)
        if (json_array_append(list, docs[which[k]]) != 0)
            bad = true;
    hb_json_set(doc, "campaigns", list, &bad);
    return hb_json_built(doc, bad);
}

int campaign_calendar_slices(const campaign_calendar_t *cal, const org_t *org, int32_t from_day,
                             campaign_slice_fn fn, void *ud, char *err, size_t errlen)
{
    if (cal->version == 0) {
        hb_errf(err, errlen, "calendar: nothing has been published yet");
        return HB_ENOTFOUND;
    }
    size_t n_halls = org_hall_count(org), words = org_bitset_words(org);
    uint64_t *bits = calloc(words ? words : 1, sizeof *bits);
    uint32_t *count = calloc(n_halls + 1, sizeof *count);
    uint32_t *start = calloc(n_halls + 1, sizeof *start);
    const campaign_t **pub = malloc((cal->list.n ? cal->list.n : 1) * sizeof *pub);
    json_t **docs = calloc(cal->list.n ? cal->list.n : 1, sizeof *docs);
    uint32_t *list = NULL;
    size_t n_pub = 0;
    int rc = 0;
    if (!bits || !count || !start || !pub || !docs) {
        rc = hb_err_nomem(err, errlen);
        goto out;
    }
    /* The published campaigns in slice order, each as JSON once: every
     * hall's list is then built in that order and shares the objects. */
    for (size_t i = 0; i < cal->list.n; i++)
        if (s_in_slice(cal->list.v[i], from_day))
            pub[n_pub++] = cal->list.v[i];
    if (n_pub > 1)
        qsort(pub, n_pub, sizeof *pub, s_by_start_id);
    for (size_t k = 0; k < n_pub; k++) {
        docs[k] = hb_cal_campaign_to_json(&pub[k]->doc);
        if (!docs[k]) {
            rc = hb_err_nomem(err, errlen);
            goto out;
        }
    }
    /* Two passes over the published scopes, counting then filling, keep
     * memory to one index per (hall, campaign) pair; a hall's list stops
     * one past the slice bound, which is all it takes to refuse it. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            size_t total = 0;
            for (size_t h = 0; h < n_halls; h++) {
                start[h] = (uint32_t)total;
                total += count[h];
                count[h] = 0;
            }
            start[n_halls] = (uint32_t)total;
            list = malloc((total ? total : 1) * sizeof *list);
            if (!list) {
                rc = hb_err_nomem(err, errlen);
                goto out;
            }
        }
        for (size_t k = 0; k < n_pub; k++) {
            if (campaign_resolve(pub[k], org, bits, words, NULL, NULL, 0) != 0)
                continue;
            for (size_t w = 0; w < words; w++) {
                uint64_t word = bits[w];
                while (word) {
                    size_t h = w * 64 + (size_t)__builtin_ctzll(word);
                    word &= word - 1;
                    if (count[h] > HB_CAL_SLICE_MAX)
                        continue;
                    if (pass == 1)
                        list[start[h] + count[h]] = (uint32_t)k;
                    count[h]++;
                }
            }
        }
    }
    for (size_t h = 0; h < n_halls; h++) {
        const org_hall_t *hall = org_hall_at(org, (uint32_t)h);
        char problem[160] = "";
        json_t *slice = NULL;
        if (count[h] > HB_CAL_SLICE_MAX) {
            snprintf(problem, sizeof problem, "more than %d published campaigns from this day on",
                     HB_CAL_SLICE_MAX);
        } else {
            slice = s_slice_doc(cal->version, hall->id, docs, &list[start[h]], count[h]);
            if (!slice) {
                rc = hb_err_nomem(err, errlen);
                goto out;
            }
        }
        rc = fn(hall, slice, slice ? NULL : problem, ud);
        if (rc != 0)
            goto out;
    }
out:
    for (size_t k = 0; docs && k < n_pub; k++)
        json_decref(docs[k]);
    free(docs);
    free(pub);
    free(bits);
    free(count);
    free(start);
    free(list);
    return rc;
}
