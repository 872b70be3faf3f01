/* The subscriptions of alerts that reach people: who is told of which
 * alerts (a scope of the organisation, kinds, a lowest severity, an age and
 * an escalation level) and by which channels (webhooks, chat robots,
 * e-mail, the hall's own page), checked strictly, stored, listed; and the
 * names of the channels. Not when anyone is told (notify.c's rounds) nor
 * the sending itself (sender.c). */
#include "notify_int.h"

#include "hallbus/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_roles[] = {"admin",         "operator", "marketer", "reviewer",
                                      "policy_editor", "analyst",  "viewer"};

static const struct {
    const char *name;
    int type;
} s_channel_types[] = {
    {"alertmanager", NOTIFY_CH_ALERTMANAGER}, {"wecom", NOTIFY_CH_WECOM},
    {"dingtalk", NOTIFY_CH_DINGTALK},         {"email", NOTIFY_CH_EMAIL},
    {"hall_page", NOTIFY_CH_HALL_PAGE},
};

const char *notify_channel_name(int type)
{
    for (size_t i = 0; i < sizeof s_channel_types / sizeof s_channel_types[0]; i++)
        if (s_channel_types[i].type == type)
            return s_channel_types[i].name;
    return "unknown";
}

int notify_channel_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof s_channel_types / sizeof s_channel_types[0]; i++)
        if (strcmp(s_channel_types[i].name, name) == 0)
            return s_channel_types[i].type;
    return 0;
}

/* ------------------------------------------------------- subscriptions */

static bool s_id_ok(const char *id) { return id && hb_id_chars_ok(id, NOTIFY_ID_MAX - 1, NULL); }

static bool s_url_ok(const char *url)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return false;
    size_t n = strlen(url);
    if (n >= NOTIFY_URL_MAX || n < 9)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return false;
    return true;
}

/* One address: local@domain of printable ASCII, no brackets, quotes,
 * commas or spaces (they would change the header or the envelope). */
static bool s_email_ok(const char *a)
{
    const char *at = strchr(a, '@');
    size_t n = strlen(a);
    if (!at || at == a || !at[1] || strchr(at + 1, '@') || n > 254)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= ' ' || c >= 0x7f || strchr("<>,;\"()[]\\:", c))
            return false;
    }
    return true;
}

/* A scope of the organisation: its level (0 hall .. 3 network). */
int notify_scope_parse(hq_notify_t *n, const char *scope, notify_sub_t *s, char *err, size_t errlen)
{
    const org_t *org = hq_control_org(n->ctl);
    if (strcmp(scope, "network") == 0) {
        s->scope_kind = NOTIFY_SCOPE_NETWORK;
        s->scope_id[0] = '\0';
        s->level = 3;
        return 0;
    }
    if (strncmp(scope, "region/", 7) == 0) {
        const org_region_t *r = org_region_find(org, scope + 7);
        if (!r) {
            hb_errf(err, errlen, "scope: no region %.80s in the organisation", scope + 7);
            return HB_ENOTFOUND;
        }
        s->scope_kind = NOTIFY_SCOPE_REGION;
        snprintf(s->scope_id, sizeof s->scope_id, "%s", r->id);
        s->level = r->level == ORG_CITY ? 1 : r->level == ORG_PROVINCE ? 2 : 3;
        return 0;
    }
    if (strncmp(scope, "hall/", 5) == 0) {
        if (!hb_hall_id_valid(scope + 5)) {
            hb_errf(err, errlen, "scope: bad hall id");
            return HB_EINVAL;
        }
        if (!org_hall_find(org, scope + 5)) {
            hb_errf(err, errlen, "scope: no hall %.40s in the organisation", scope + 5);
            return HB_ENOTFOUND;
        }
        s->scope_kind = NOTIFY_SCOPE_HALL;
        snprintf(s->scope_id, sizeof s->scope_id, "%s", scope + 5);
        s->level = 0;
        return 0;
    }
    hb_errf(err, errlen, "scope must be \"network\", \"region/ID\" or \"hall/ID\"");
    return HB_EINVAL;
}

int notify_kinds_parse(const json_t *kinds, uint64_t *mask, char *err, size_t errlen)
{
    *mask = 0;
    if (!kinds) {
        *mask = NOTIFY_ALL_KINDS;
        return 0;
    }
    if (!json_is_array(kinds) || json_array_size(kinds) == 0 || json_array_size(kinds) > 64) {
        hb_errf(err, errlen, "kinds must be a list of 1 to 64 alert kinds, or [\"*\"]");
        return HB_EINVAL;
    }
    for (size_t i = 0; i < json_array_size(kinds); i++) {
        const char *k = json_string_value(json_array_get(kinds, i));
        if (k && strcmp(k, "*") == 0) {
            *mask = NOTIFY_ALL_KINDS;
            continue;
        }
        int kind = alert_kind_parse(k);
        if (kind <= 0 || kind > 63) {
            hb_errf(err, errlen, "kinds[%zu]: unknown alert kind '%.40s'", i, k ? k : "(not text)");
            return HB_EINVAL;
        }
        *mask |= (uint64_t)1 << kind;
    }
    return 0;
}

static const char *const s_sub_members[] = {
    "id", "role", "scope", "kinds", "min_severity", "min_age_s", "escalated", "channels", "note"};

/* Reads and checks a subscription document; `s` holds it, its `doc` the
 * normalised document. */
int notify_sub_parse(hq_notify_t *n, const char *id, const json_t *doc, notify_sub_t *s, char *err,
                     size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (!json_is_object(doc)) {
        hb_errf(err, errlen, "a subscription is a JSON object");
        return HB_EINVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)doc, key, v) {
        bool known = false;
        for (size_t i = 0; i < sizeof s_sub_members / sizeof s_sub_members[0]; i++)
            known |= strcmp(key, s_sub_members[i]) == 0;
        if (!known) {
            hb_errf(err, errlen, "%.40s: unknown member", key);
            return HB_EINVAL;
        }
    }
    const char *doc_id = json_string_value(json_object_get(doc, "id"));
    if (doc_id && id && strcmp(doc_id, id) != 0) {
        hb_errf(err, errlen, "id: the document names another subscription than the path");
        return HB_EINVAL;
    }
    if (!id)
        id = doc_id;
    if (!s_id_ok(id)) {
        hb_errf(err, errlen, "id: 1 to 64 of A-Z a-z 0-9 _ -");
        return HB_EINVAL;
    }
    snprintf(s->id, sizeof s->id, "%s", id);
    const char *role = json_string_value(json_object_get(doc, "role"));
    bool role_ok = false;
    for (size_t i = 0; role && i < sizeof s_roles / sizeof s_roles[0]; i++)
        role_ok |= strcmp(role, s_roles[i]) == 0;
    if (!role_ok) {
        hb_errf(err, errlen,
                "role: one of admin, operator, marketer, reviewer, policy_editor, analyst, viewer");
        return HB_EINVAL;
    }
    snprintf(s->role, sizeof s->role, "%s", role);
    const char *scope = json_string_value(json_object_get(doc, "scope"));
    if (!scope) {
        hb_errf(err, errlen, "scope: required (\"network\", \"region/ID\" or \"hall/ID\")");
        return HB_EINVAL;
    }
    int rc = notify_scope_parse(n, scope, s, err, errlen);
    if (rc != 0)
        return rc;
    rc = notify_kinds_parse(json_object_get(doc, "kinds"), &s->kinds, err, errlen);
    if (rc != 0)
        return rc;
    json_t *sev = json_object_get(doc, "min_severity");
    s->min_severity = sev ? alert_severity_parse(json_string_value(sev)) : ALERT_SEV_INFO;
    if (!s->min_severity) {
        hb_errf(err, errlen, "min_severity: info, warning or critical");
        return HB_EINVAL;
    }
    json_t *age = json_object_get(doc, "min_age_s");
    if (age && (!json_is_integer(age) || json_integer_value(age) < 0 ||
                json_integer_value(age) > 30LL * 86400)) {
        hb_errf(err, errlen, "min_age_s: seconds, 0 to 2592000");
        return HB_EINVAL;
    }
    s->min_age_s = age ? json_integer_value(age) : 0;
    json_t *esc = json_object_get(doc, "escalated");
    if (esc && !json_is_boolean(esc)) {
        hb_errf(err, errlen, "escalated: true or false");
        return HB_EINVAL;
    }
    s->escalated = json_is_true(esc);
    json_t *note = json_object_get(doc, "note");
    if (note && (!json_is_string(note) || json_string_length(note) >= NOTIFY_TEXT_MAX)) {
        hb_errf(err, errlen, "note: text of at most %d bytes", NOTIFY_TEXT_MAX - 1);
        return HB_EINVAL;
    }
    json_t *chs = json_object_get(doc, "channels");
    if (!json_is_array(chs) || json_array_size(chs) == 0 ||
        json_array_size(chs) > NOTIFY_CHANNELS_MAX) {
        hb_errf(err, errlen, "channels: a list of 1 to %d channels", NOTIFY_CHANNELS_MAX);
        return HB_EINVAL;
    }
    for (size_t i = 0; i < json_array_size(chs); i++) {
        json_t *c = json_array_get(chs, i);
        notify_channel_t *ch = &s->ch[s->n_channels++];
        ch->type = notify_channel_parse(json_string_value(json_object_get(c, "type")));
        if (!ch->type) {
            hb_errf(err, errlen,
                    "channels[%zu].type: alertmanager, wecom, dingtalk, email or hall_page", i);
            return HB_EINVAL;
        }
        json_object_foreach (c, key, v) {
            if (strcmp(key, "type") != 0 && strcmp(key, "url") != 0 && strcmp(key, "to") != 0) {
                hb_errf(err, errlen, "channels[%zu].%.40s: unknown member", i, key);
                return HB_EINVAL;
            }
        }
        const char *url = json_string_value(json_object_get(c, "url"));
        json_t *to = json_object_get(c, "to");
        switch (ch->type) {
        case NOTIFY_CH_ALERTMANAGER:
        case NOTIFY_CH_WECOM:
        case NOTIFY_CH_DINGTALK:
            if (!url || !s_url_ok(url) || to) {
                hb_errf(err, errlen, "channels[%zu].url: an http:// or https:// address", i);
                return HB_EINVAL;
            }
            snprintf(ch->url, sizeof ch->url, "%s", url);
            break;
        case NOTIFY_CH_EMAIL:
            if (!n->cfg.smtp_url || !n->cfg.smtp_url[0]) {
                hb_errf(err, errlen, "channels[%zu]: e-mail needs hqd's smtp_url setting", i);
                return HB_EINVAL;
            }
            if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > 16 || url) {
                hb_errf(err, errlen, "channels[%zu].to: a list of 1 to 16 e-mail addresses", i);
                return HB_EINVAL;
            }
            for (size_t k = 0; k < json_array_size(to); k++) {
                const char *a = json_string_value(json_array_get(to, k));
                size_t used = strlen(ch->to);
                if (!a || !s_email_ok(a) || used + strlen(a) + 2 >= sizeof ch->to) {
                    hb_errf(err, errlen, "channels[%zu].to[%zu]: not an e-mail address", i, k);
                    return HB_EINVAL;
                }
                snprintf(ch->to + used, sizeof ch->to - used, "%s%s", used ? "," : "", a);
            }
            break;
        case NOTIFY_CH_HALL_PAGE:
            if (url || to) {
                hb_errf(err, errlen, "channels[%zu]: hall_page takes no address", i);
                return HB_EINVAL;
            }
            break;
        }
    }
    s->doc = json_deep_copy(doc);
    if (!s->doc)
        return HB_ENOMEM;
    json_object_set_new(s->doc, "id", json_string(s->id));
    return 0;
}

static notify_sub_t *s_sub_find(hq_notify_t *n, const char *id, size_t *index)
{
    for (size_t i = 0; i < n->subs.n; i++)
        if (strcmp(n->subs.v[i].id, id) == 0) {
            if (index)
                *index = i;
            return &n->subs.v[i];
        }
    return NULL;
}

int hq_notify_sub_put(hq_notify_t *n, const char *id, const json_t *doc, bool create, json_t **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    notify_sub_t s;
    int rc = notify_sub_parse(n, id, doc, &s, err, errlen);
    if (rc != 0) {
        json_decref(s.doc);
        return rc;
    }
    notify_sub_t *old = s_sub_find(n, s.id, NULL);
    if (create && old) {
        json_decref(s.doc);
        hb_errf(err, errlen, "subscription %s exists already", s.id);
        return HB_EEXIST;
    }
    if (!old && n->subs.n >= NOTIFY_SUBS_MAX) {
        json_decref(s.doc);
        hb_errf(err, errlen, "at most %d subscriptions", NOTIFY_SUBS_MAX);
        return HB_ETOOBIG;
    }
    /* A subscription keeps its number for life: what was done for it
     * stays done when it is edited. */
    if (old) {
        s.num = old->num;
    } else {
        pthread_mutex_lock(&n->db_mu);
        MDB_txn *txn;
        rc = mdb_txn_begin(n->db.env, NULL, 0, &txn) == 0 ? 0 : HB_EDB;
        if (rc == 0) {
            s.num = (uint32_t)notify_next_meta(n, txn, "next_sub");
            rc = mdb_txn_commit(txn) == 0 ? 0 : HB_EDB;
        }
        pthread_mutex_unlock(&n->db_mu);
        if (rc != 0) {
            json_decref(s.doc);
            return rc;
        }
    }
    json_object_set_new(s.doc, "num", json_integer(s.num));
    rc = notify_db_put_json(n, n->dbi_subs, s.id, strlen(s.id), s.doc);
    if (rc != 0) {
        json_decref(s.doc);
        hb_errf(err, errlen, "cannot store the subscription: %s", hb_strerror(rc));
        return rc;
    }
    if (old) {
        json_decref(old->doc);
        *old = s;
    } else {
        notify_sub_t *slot = hb_vec_push(&n->subs);
        if (!slot) {
            json_decref(s.doc);
            return HB_ENOMEM;
        }
        *slot = s;
    }
    notify_look_again(n);
    *out = json_deep_copy(s.doc);
    json_object_del(*out, "num");
    return 0;
}

int hq_notify_sub_delete(hq_notify_t *n, const char *id)
{
    size_t i;
    notify_sub_t *s = s_sub_find(n, id, &i);
    if (!s)
        return HB_ENOTFOUND;
    pthread_mutex_lock(&n->db_mu);
    int rc = notify_db_del(n, n->dbi_subs, id, strlen(id));
    pthread_mutex_unlock(&n->db_mu);
    if (rc != 0)
        return rc;
    json_decref(s->doc);
    n->subs.v[i] = n->subs.v[n->subs.n - 1];
    n->subs.n--;
    return 0;
}

static json_t *s_sub_json(const notify_sub_t *s)
{
    json_t *o = json_deep_copy(s->doc);
    if (o)
        json_object_del(o, "num");
    return o;
}

int hq_notify_sub_get(hq_notify_t *n, const char *id, json_t **out)
{
    notify_sub_t *s = s_sub_find(n, id, NULL);
    *out = s ? s_sub_json(s) : NULL;
    return s ? (*out ? 0 : HB_ENOMEM) : HB_ENOTFOUND;
}

json_t *hq_notify_subs_json(hq_notify_t *n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n->subs.n; i++)
        json_array_append_new(a, s_sub_json(&n->subs.v[i]));
    return json_pack("{s:o}", "subscriptions", a);
}
