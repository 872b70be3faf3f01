/* The control plane (see control.h). Records of the "docs" database:
 *   "org"             the organisation document
 *   "glossary"        the glossary document
 *   "policies"        {"version", "published_at", "published_by", "drafts", "published"}
 *   "calendar"        {"version": N}
 *   "campaign/<id>"   one campaign's stored form (history included)
 * Every change is written before the call returns; a refused change
 * writes nothing and leaves memory as it was.
 *
 * Encoded documents for halls are cached: effective policies by inheritance
 * chain (most halls share their city's), slices by hall, both dropped when
 * what they derive from moves. */
#include "control.h"

#include "hallbus/destroy.h"
#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/store.h"
#include "hallbus/time.h"
#include "hallbus/vec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_USER_MAX 65
#define CAMPAIGN_PREFIX "campaign/"

struct hq_control {
    hb_store_t store;
    MDB_dbi docs;
    org_t *org;
    json_t *drafts;    /* scope -> document */
    json_t *published; /* scope -> document */
    uint64_t policy_version;
    int64_t published_at;
    char published_by[CTL_USER_MAX];
    campaign_calendar_t *cal;
    calcheck_glossary_t *glossary;
    /* Caches. */
    json_t *policy_cache; /* chain key -> encoded effective policy (string) */
    json_t *limits_cache; /* chain key -> [max_concurrent, lead_days, city_overlap_error] */
    json_t *slice_cache;  /* hall -> encoded slice (string) */
    uint64_t slice_version, slice_org_gen;
    int32_t slice_day;
    json_t *parsed_index; /* chain key -> index into parsed */
    HB_VEC(hb_policy_t *) parsed;
    HB_VEC(struct open_cache) opening; /* by index into parsed, as many */
    uint64_t policy_gen;
    /* Halls by organisation index: which parsed policy each runs on (-1:
     * not looked up yet), so the rounds over every hall never build a
     * chain key; dropped with the parsed policies. */
    int32_t *parsed_of_hall;
    size_t n_parsed_of_hall;
    int32_t parsed_unplaced;
    uint64_t org_gen; /* moves with every change of the organisation */
};

/* ------------------------------------------------------------ storage ---- */

static int s_put_raw(hq_control_t *c, const char *key, const char *text)
{
    int rc;
    for (;;) {
        MDB_txn *txn;
        rc = mdb_txn_begin(c->store.env, NULL, 0, &txn);
        if (rc != 0)
            break;
        MDB_val k = {strlen(key), (void *)key};
        if (text) {
            MDB_val v = {strlen(text), (void *)text};
            rc = mdb_put(txn, c->docs, &k, &v, 0);
        } else {
            rc = mdb_del(txn, c->docs, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
        rc = hb_store_txn_end(txn, rc);
        if (rc != MDB_MAP_FULL || hb_store_grow(&c->store) != 0)
            break;
    }
    if (rc != 0) {
        hb_error("control: cannot write %s: %s", key, mdb_strerror(rc));
        return HB_EDB;
    }
    return 0;
}

static int s_put(hq_control_t *c, const char *key, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (doc && !text)
        return HB_ENOMEM;
    int rc = s_put_raw(c, key, text);
    free(text);
    return rc;
}

static json_t *s_get(hq_control_t *c, MDB_txn *txn, const char *key)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    if (mdb_get(txn, c->docs, &k, &v) != 0)
        return NULL;
    json_error_t jerr;
    json_t *j = json_loadb(v.mv_data, v.mv_size, 0, &jerr);
    if (!j)
        hb_error("control: stored %s is not JSON (%s); ignored", key, jerr.text);
    return j;
}

static json_t *s_policies_doc(const hq_control_t *c)
{
    return json_pack("{s:I, s:I, s:s, s:O, s:O}", "version", (json_int_t)c->policy_version,
                     "published_at", (json_int_t)c->published_at, "published_by", c->published_by,
                     "drafts", c->drafts, "published", c->published);
}

/* Stores the drafts and what is published (s_policies_doc); a document
 * that cannot be made is HB_ENOMEM, never a put of nothing (a delete). */
static int s_save_policies(hq_control_t *c)
{
    json_t *all = s_policies_doc(c);
    int rc = all ? s_put(c, "policies", all) : HB_ENOMEM;
    json_decref(all);
    return rc;
}

/* Stores the campaign calendar's version, as s_save_policies does. */
static int s_save_calendar_version(hq_control_t *c)
{
    json_t *v = json_pack("{s:I}", "version", (json_int_t)campaign_calendar_version(c->cal));
    int rc = v ? s_put(c, "calendar", v) : HB_ENOMEM;
    json_decref(v);
    return rc;
}

/* A parsed policy's opening state, valid for [from, until). */
struct open_cache {
    int64_t from, until;
    int32_t back_days;
    hb_open_info_t info;
    int64_t start;
};

static void s_drop_policies(hq_control_t *c)
{
    json_object_clear(c->policy_cache);
    json_object_clear(c->limits_cache);
    json_object_clear(c->parsed_index);
    for (size_t i = 0; i < c->parsed.n; i++)
        hb_policy_free(&c->parsed.v[i]);
    c->parsed.n = c->opening.n = 0;
    free(c->parsed_of_hall);
    c->parsed_of_hall = NULL;
    c->n_parsed_of_hall = 0;
    c->parsed_unplaced = -1;
    c->policy_gen++;
}

static void s_drop_caches(hq_control_t *c)
{
    s_drop_policies(c);
    json_object_clear(c->slice_cache);
    c->slice_version = 0;
}

static int s_load(hq_control_t *c, char *err, size_t errlen)
{
    MDB_txn *txn;
    if (mdb_txn_begin(c->store.env, NULL, 0, &txn) != 0 ||
        mdb_dbi_open(txn, "docs", MDB_CREATE, &c->docs) != 0) {
        hb_errf(err, errlen, "cannot open the control database");
        return HB_EDB;
    }
    int rc = 0;
    json_t *org = s_get(c, txn, "org");
    if (org && org_from_json(org, &c->org, err, errlen) != 0)
        rc = HB_EPARSE;
    json_decref(org);
    json_t *gl = rc ? NULL : s_get(c, txn, "glossary");
    if (gl && calcheck_glossary_from_json(gl, &c->glossary, err, errlen) != 0)
        rc = HB_EPARSE;
    json_decref(gl);
    json_t *pol = rc ? NULL : s_get(c, txn, "policies");
    if (pol) {
        json_t *d = json_object_get(pol, "drafts"), *p = json_object_get(pol, "published");
        if (json_is_object(d))
            json_object_update(c->drafts, d);
        if (json_is_object(p))
            json_object_update(c->published, p);
        c->policy_version = (uint64_t)json_integer_value(json_object_get(pol, "version"));
        c->published_at = json_integer_value(json_object_get(pol, "published_at"));
        const char *by = json_string_value(json_object_get(pol, "published_by"));
        snprintf(c->published_by, sizeof c->published_by, "%s", by ? by : "");
        json_decref(pol);
    }
    /* The campaigns, one record each, into one calendar document. */
    json_t *calv = rc ? NULL : s_get(c, txn, "calendar");
    json_t *caldoc =
        json_pack("{s:I, s:[]}", "version",
                  calv ? json_integer_value(json_object_get(calv, "version")) : 0, "campaigns");
    json_decref(calv);
    MDB_cursor *cur;
    if (rc == 0 && mdb_cursor_open(txn, c->docs, &cur) == 0) {
        MDB_val k = {strlen(CAMPAIGN_PREFIX), CAMPAIGN_PREFIX}, v;
        int crc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (crc == 0 && k.mv_size > strlen(CAMPAIGN_PREFIX) &&
               memcmp(k.mv_data, CAMPAIGN_PREFIX, strlen(CAMPAIGN_PREFIX)) == 0) {
            json_t *one = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            if (one)
                json_array_append_new(json_object_get(caldoc, "campaigns"), one);
            crc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    if (rc == 0 && campaign_calendar_from_json(caldoc, &c->cal, err, errlen) != 0)
        rc = HB_EPARSE;
    json_decref(caldoc);
    mdb_txn_commit(txn);
    if (rc != 0)
        return rc;
    if (!c->org)
        c->org = org_new();
    if (!c->glossary)
        c->glossary = calcheck_glossary_new();
    if (!c->cal)
        c->cal = campaign_calendar_new();
    if (!c->org || !c->glossary || !c->cal)
        return HB_ENOMEM;
    return 0;
}

int hq_control_open(const char *dir, hq_control_t **out, char *err, size_t errlen)
{
    hq_control_t *c = calloc(1, sizeof *c);
    if (!c)
        return HB_ENOMEM;
    /* One parsed policy per chain of documents: at most one per hall. */
    c->parsed.max = c->opening.max = ORG_HALLS_MAX + 1;
    c->drafts = json_object();
    c->published = json_object();
    c->policy_cache = json_object();
    c->limits_cache = json_object();
    c->slice_cache = json_object();
    c->parsed_index = json_object();
    c->parsed_unplaced = -1;
    c->org_gen = 1; /* a zeroed cache (generation 0) is stale from the start */
    int rc = hb_store_open(&c->store, dir, 16u << 20, 1ull << 36, 2);
    if (rc != 0) {
        hb_errf(err, errlen, "cannot open the control store %s", dir);
        hq_control_close(&c);
        return rc;
    }
    rc = s_load(c, err, errlen);
    if (rc != 0) {
        hq_control_close(&c);
        return rc;
    }
    hb_info("control: %zu region(s), %zu hall(s), policy version %" PRIu64 ", %zu campaign(s), "
            "calendar version %" PRIu64,
            org_region_count(c->org), org_hall_count(c->org), c->policy_version,
            campaign_calendar_count(c->cal), campaign_calendar_version(c->cal));
    *out = c;
    return 0;
}

static void s_fini(hq_control_t *c)
{
    org_destroy(&c->org);
    campaign_calendar_destroy(&c->cal);
    calcheck_glossary_destroy(&c->glossary);
    json_decref(c->drafts);
    json_decref(c->published);
    json_decref(c->policy_cache);
    json_decref(c->limits_cache);
    json_decref(c->slice_cache);
    json_decref(c->parsed_index);
    for (size_t i = 0; i < c->parsed.n; i++)
        hb_policy_free(&c->parsed.v[i]);
    hb_vec_free(&c->parsed);
    hb_vec_free(&c->opening);
    free(c->parsed_of_hall);
    if (c->store.env)
        hb_store_close(&c->store);
}

void hq_control_close(hq_control_t **cp) { HB_DESTROY(cp, s_fini); }

/* ------------------------------------------------------- organisation ---- */

const org_t *hq_control_org(const hq_control_t *c) { return c->org; }

uint64_t hq_control_org_generation(const hq_control_t *c) { return c->org_gen; }

int32_t hq_control_org_index(const hq_control_t *c, const char *hall, uint64_t *gen, int32_t *index)
{
    if (*gen != c->org_gen) {
        const org_hall_t *oh = org_hall_find(c->org, hall);
        *index = oh ? (int32_t)oh->index : -1;
        *gen = c->org_gen;
    }
    return *index;
}

/* Every campaign still validates against `org`, every policy scope exists. */
static int s_fits_org(hq_control_t *c, const org_t *org, char *err, size_t errlen)
{
    for (size_t i = 0; i < campaign_calendar_count(c->cal); i++) {
        const campaign_t *k = campaign_calendar_at(c->cal, i);
        if (k->state == CAMPAIGN_WITHDRAWN)
            continue;
        char why[256];
        if (campaign_validate(k, org, NULL, why, sizeof why) != 0) {
            hb_errf(err, errlen, "campaign %s would no longer fit: %s", k->doc.id, why);
            return HB_ECONFLICT;
        }
    }
    json_t *sets[2] = {c->drafts, c->published};
    for (int s = 0; s < 2; s++) {
        const char *scope;
        json_t *doc;
        json_object_foreach (sets[s], scope, doc) {
            (void)doc;
            bool ok = strcmp(scope, "national") == 0 ||
                      (strncmp(scope, "region/", 7) == 0 && org_region_find(org, scope + 7)) ||
                      (strncmp(scope, "hall/", 5) == 0 && org_hall_find(org, scope + 5));
            if (!ok) {
                hb_errf(err, errlen, "the %s policy of %s would have no place in it",
                        s ? "published" : "draft", scope);
                return HB_ECONFLICT;
            }
        }
    }
    return 0;
}

/* A hall moved or retagged gets other effective policies and slices:
 * what was published becomes a new version of each, so that every hall is
 * sent what it should now run (a hall compares versions, not content). */
static int s_bump_versions(hq_control_t *c)
{
    int rc = 0;
    if (c->policy_version > 0) {
        c->policy_version++;
        rc = s_save_policies(c);
    }
    if (rc == 0 && campaign_calendar_version(c->cal) > 0) {
        campaign_calendar_bump(c->cal);
        rc = s_save_calendar_version(c);
    }
    return rc;
}

static int s_save_org(hq_control_t *c)
{
    /* Every index cached against the organisation is stale from here, also
     * when the change is refused and the old organisation comes back. */
    c->org_gen++;
    json_t *doc = org_to_json(c->org);
    int rc = doc ? s_put(c, "org", doc) : HB_ENOMEM;
    json_decref(doc);
    if (rc == 0)
        rc = s_bump_versions(c);
    s_drop_caches(c);
    return rc;
}

/* Makes `org` (taken) the organisation once it fits and is stored; after
 * `rc` (a failure making it) or any refusal, it is dropped and the old one
 * stays. */
static int s_install_org(hq_control_t *c, org_t *org, int rc, char *err, size_t errlen)
{
    if (rc == 0)
        rc = s_fits_org(c, org, err, errlen);
    if (rc != 0) {
        org_destroy(&org);
        return rc;
    }
    org_t *old = c->org;
    c->org = org;
    rc = s_save_org(c);
    if (rc != 0) {
        c->org = old;
        org_destroy(&org);
        hb_errf(err, errlen, "the organisation could not be stored (%s)", hb_strerror(rc));
        return rc;
    }
    org_destroy(&old);
    return 0;
}

int hq_control_set_org(hq_control_t *c, const json_t *doc, char *err, size_t errlen)
{
    org_t *org = NULL;
    int rc = org_from_json(doc, &org, err, errlen);
    if (rc != 0)
        return rc;
    return s_install_org(c, org, 0, err, errlen);
}

/* One region or hall: tried on a copy first, so a refusal changes nothing. */
static int s_put_one(hq_control_t *c, const json_t *item, bool hall, char *err, size_t errlen)
{
    json_t *doc = org_to_json(c->org);
    org_t *copy = NULL;
    int rc = doc ? org_from_json(doc, &copy, err, errlen) : HB_ENOMEM;
    json_decref(doc);
    if (rc == 0)
        rc = hall ? org_put_hall(copy, item, err, errlen) : org_put_region(copy, item, err, errlen);
    return s_install_org(c, copy, rc, err, errlen);
}

int hq_control_put_region(hq_control_t *c, const json_t *region, char *err, size_t errlen)
{
    return s_put_one(c, region, false, err, errlen);
}

int hq_control_put_hall(hq_control_t *c, const json_t *hall, char *err, size_t errlen)
{
    return s_put_one(c, hall, true, err, errlen);
}

/* ----------------------------------------------------------- policies ---- */

static int s_scope_ok(const hq_control_t *c, const char *scope, char *err, size_t errlen)
{
    if (!scope || strlen(scope) >= HQ_SCOPE_MAX) {
        hb_errf(err, errlen, "a scope is \"national\", \"region/<id>\" or \"hall/<id>\"");
        return HB_EINVAL;
    }
    if (strcmp(scope, "national") == 0)
        return 0;
    if (strncmp(scope, "region/", 7) == 0) {
        const org_region_t *r = org_region_find(c->org, scope + 7);
        if (!r) {
            hb_errf(err, errlen, "no region '%s' in the organisation", scope + 7);
            return HB_ENOTFOUND;
        }
        if (r->level == ORG_NATIONAL) {
            hb_errf(err, errlen, "region %s is the national root: its policy is \"national\"",
                    r->id);
            return HB_EINVAL;
        }
        return 0;
    }
    if (strncmp(scope, "hall/", 5) == 0) {
        if (!org_hall_find(c->org, scope + 5)) {
            hb_errf(err, errlen, "no hall '%s' in the organisation", scope + 5);
            return HB_ENOTFOUND;
        }
        return 0;
    }
    hb_errf(err, errlen, "scope '%.40s' is not \"national\", \"region/<id>\" or \"hall/<id>\"",
            scope);
    return HB_EINVAL;
}

int hq_control_put_policy(hq_control_t *c, const char *scope, const json_t *doc, char *err,
                          size_t errlen)
{
    int rc = s_scope_ok(c, scope, err, errlen);
    if (rc != 0)
        return rc;
    if (doc) {
        char why[512];
        if (!json_is_object(doc)) {
            hb_errf(err, errlen, "a policy document is a JSON object");
            return HB_EINVAL;
        }
        if (hb_policy_check(doc, why, sizeof why) != 0) {
            hb_errf(err, errlen, "%s", why);
            return HB_EINVAL;
        }
    }
    json_t *before = json_object_get(c->drafts, scope);
    json_incref(before);
    if (doc)
        json_object_set_new(c->drafts, scope, json_deep_copy(doc));
    else
        json_object_del(c->drafts, scope);
    rc = s_save_policies(c);
    if (rc != 0) {
        if (before)
            json_object_set(c->drafts, scope, before);
        else
            json_object_del(c->drafts, scope);
        hb_errf(err, errlen, "the policy could not be stored (%s)", hb_strerror(rc));
    }
    json_decref(before);
    return rc;
}

json_t *hq_control_policies_json(const hq_control_t *c)
{
    json_t *o = s_policies_doc(c);
    char at[HB_RFC3339_MAX] = "";
    if (c->published_at)
        hb_time_format(c->published_at, at);
    json_object_set_new(o, "published_at", at[0] ? json_string(at) : json_null());
    return o;
}

uint64_t hq_control_policy_version(const hq_control_t *c) { return c->policy_version; }

/* The chain key of a hall: halls without a document of their own share
 * their city's effective policy. */
static void s_chain_key(const hq_control_t *c, const json_t *set, const char *hall, char *key,
                        size_t keylen)
{
    const org_region_t *chain[3];
    char own[HQ_SCOPE_MAX];
    snprintf(own, sizeof own, "hall/%s", hall);
    bool has_own = json_object_get(set, own) != NULL;
    if (org_hall_chain(c->org, hall, chain) != 0)
        snprintf(key, keylen, "%s%s", has_own ? "-|" : "-", has_own ? hall : "");
    else
        snprintf(key, keylen, "%s%s%s", chain[0]->id, has_own ? "|" : "", has_own ? hall : "");
}

/* The effective document of `hall` from the scope documents in `set`. */
static int s_effective(hq_control_t *c, const json_t *set, const char *hall, json_t **out,
                       char *err, size_t errlen)
{
    const org_region_t *chain[3];
    bool placed = org_hall_chain(c->org, hall, chain) == 0;
    json_t *doc = json_object();
    const char *layers[4] = {"national", NULL, NULL, NULL};
    char prov[HQ_SCOPE_MAX], city[HQ_SCOPE_MAX], own[HQ_SCOPE_MAX];
    if (placed) {
        snprintf(prov, sizeof prov, "region/%s", chain[1]->id);
        snprintf(city, sizeof city, "region/%s", chain[0]->id);
        layers[1] = prov;
        layers[2] = city;
    }
    snprintf(own, sizeof own, "hall/%s", hall);
    layers[3] = own;
    for (int i = 0; i < 4; i++) {
        const json_t *layer = layers[i] ? json_object_get(set, layers[i]) : NULL;
        if (!layer)
            continue;
        json_t *merged = hb_policy_merge(doc, layer);
        json_decref(doc);
        doc = merged;
        if (!doc)
            return HB_ENOMEM;
    }
    hb_policy_t *p = NULL;
    char why[512];
    int rc = hb_policy_new(doc, &p, why, sizeof why);
    json_decref(doc);
    if (rc != 0) {
        hb_errf(err, errlen, "hall %s: its effective policy is refused: %s", hall, why);
        return rc == HB_ENOMEM ? rc : HB_EINVAL;
    }
    *out = hb_policy_to_json(p);
    hb_policy_free(&p);
    return *out ? 0 : HB_ENOMEM;
}

int hq_control_effective_policy(hq_control_t *c, const char *hall, bool drafts, json_t **out,
                                char *err, size_t errlen)
{
    return s_effective(c, drafts ? c->drafts : c->published, hall, out, err, errlen);
}

int hq_control_publish_policies(hq_control_t *c, const char *who, uint64_t *version, char *err,
                                size_t errlen)
{
    /* Every distinct chain of the drafts builds, or nothing is published. */
    json_t *seen = json_object();
    size_t n = org_hall_count(c->org);
    int rc = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        /* i == n: a hall the organisation does not place (national only). */
        const char *hall = i < n ? org_hall_at(c->org, (uint32_t)i)->id : "-unplaced-";
        char key[2 * HQ_SCOPE_MAX];
        s_chain_key(c, c->drafts, hall, key, sizeof key);
        if (json_object_get(seen, key))
            continue;
        json_t *eff = NULL;
        rc = s_effective(c, c->drafts, hall, &eff, err, errlen);
        json_decref(eff);
        json_object_set_new(seen, key, json_true());
    }
    json_decref(seen);
    if (rc != 0)
        return rc;
    json_t *old_pub = c->published;
    uint64_t old_v = c->policy_version;
    int64_t old_at = c->published_at;
    char old_by[CTL_USER_MAX];
    snprintf(old_by, sizeof old_by, "%s", c->published_by);
    c->published = json_deep_copy(c->drafts);
    c->policy_version++;
    c->published_at = hb_now_ms();
    snprintf(c->published_by, sizeof c->published_by, "%s", who ? who : "");
    rc = s_save_policies(c);
    if (rc != 0) {
        json_decref(c->published);
        c->published = old_pub;
        c->policy_version = old_v;
        c->published_at = old_at;
        snprintf(c->published_by, sizeof c->published_by, "%s", old_by);
        hb_errf(err, errlen, "the policies could not be stored (%s)", hb_strerror(rc));
        return rc;
    }
    json_decref(old_pub);
    s_drop_policies(c);
    *version = c->policy_version;
    hb_info("control: policies published as version %" PRIu64 " by %s", c->policy_version,
            c->published_by);
    return 0;
}

json_t *hq_control_policy_changes(const hq_control_t *c)
{
    json_t *out = json_array();
    const char *scope;
    json_t *doc;
    json_object_foreach (c->drafts, scope, doc) {
        if (!json_equal(doc, json_object_get(c->published, scope)))
            json_array_append_new(out, json_string(scope));
    }
    json_object_foreach (c->published, scope, doc) {
        if (!json_object_get(c->drafts, scope))
            json_array_append_new(out, json_string(scope));
    }
    return out;
}

int hq_control_policy_bytes(hq_control_t *c, const char *hall, const char **data, size_t *len,
                            char *err, size_t errlen)
{
    char key[2 * HQ_SCOPE_MAX];
    s_chain_key(c, c->published, hall, key, sizeof key);
    json_t *s = json_object_get(c->policy_cache, key);
    if (!s) {
        json_t *eff = NULL;
        int rc = s_effective(c, c->published, hall, &eff, err, errlen);
        if (rc != 0)
            return rc;
        char *text = json_dumps(eff, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(eff);
        if (!text)
            return HB_ENOMEM;
        s = json_string(text);
        free(text);
        if (!s)
            return HB_ENOMEM;
        json_object_set_new(c->policy_cache, key, s);
    }
    *data = json_string_value(s);
    *len = json_string_length(s);
    return 0;
}

/* The index of a hall's parsed policy, building it on first use; -1 only
 * when out of memory. */
static long s_parsed(hq_control_t *c, const char *hall)
{
    char key[2 * HQ_SCOPE_MAX];
    s_chain_key(c, c->published, hall, key, sizeof key);
    json_t *ix = json_object_get(c->parsed_index, key);
    if (ix)
        return (long)json_integer_value(ix);
    const char *doc;
    size_t len;
    char err[256];
    hb_policy_t *p = NULL;
    json_t *j = NULL;
    if (hq_control_policy_bytes(c, hall, &doc, &len, err, sizeof err) == 0)
        j = json_loadb(doc, len, 0, NULL);
    if (!j || hb_policy_new(j, &p, err, sizeof err) != 0) {
        /* The published documents built at publish time: only memory can
         * fail here. The defaults keep a hall's alerts meaningful. */
        json_t *none = json_object();
        hb_policy_new(none, &p, err, sizeof err);
        json_decref(none);
    }
    json_decref(j);
    if (!p)
        return -1;
    hb_policy_t **slot = hb_vec_push(&c->parsed);
    if (!slot || !hb_vec_push(&c->opening)) {
        if (slot)
            c->parsed.n--;
        hb_policy_free(&p);
        return -1;
    }
    *slot = p;
    json_object_set_new(c->parsed_index, key, json_integer((json_int_t)(c->parsed.n - 1)));
    return (long)(c->parsed.n - 1);
}

const hb_policy_t *hq_control_policy(hq_control_t *c, const char *hall)
{
    long i = s_parsed(c, hall);
    return i < 0 ? NULL : c->parsed.v[i];
}

/* The parsed policy of the hall of organisation index `idx` (-1: a hall
 * it does not place, which runs on the national one), looked up by chain
 * key once per hall and publish; -1 only when out of memory. */
static long s_parsed_at(hq_control_t *c, int32_t idx)
{
    if (idx < 0 || (size_t)idx >= org_hall_count(c->org)) {
        if (c->parsed_unplaced < 0)
            c->parsed_unplaced = (int32_t)s_parsed(c, "");
        return c->parsed_unplaced;
    }
    if (!c->parsed_of_hall) {
        size_t n = org_hall_count(c->org);
        c->parsed_of_hall = malloc((n ? n : 1) * sizeof *c->parsed_of_hall);
        if (!c->parsed_of_hall)
            return s_parsed(c, org_hall_at(c->org, (uint32_t)idx)->id);
        for (size_t i = 0; i < n; i++)
            c->parsed_of_hall[i] = -1;
        c->n_parsed_of_hall = n;
    }
    if (c->parsed_of_hall[idx] < 0)
        c->parsed_of_hall[idx] = (int32_t)s_parsed(c, org_hall_at(c->org, (uint32_t)idx)->id);
    return c->parsed_of_hall[idx];
}

const hb_policy_t *hq_control_opening(hq_control_t *c, const char *hall, int64_t now_ms,
                                      int32_t back_days, hb_open_info_t *info, int64_t *start)
{
    const org_hall_t *oh = org_hall_find(c->org, hall);
    return hq_control_opening_at(c, oh ? (int32_t)oh->index : -1, now_ms, back_days, info, start);
}

const hb_policy_t *hq_control_policy_at(hq_control_t *c, int32_t org_index)
{
    long i = s_parsed_at(c, org_index);
    return i < 0 ? NULL : c->parsed.v[i];
}

const hb_policy_t *hq_control_opening_at(hq_control_t *c, int32_t org_index, int64_t now_ms,
                                         int32_t back_days, hb_open_info_t *info, int64_t *start)
{
    long i = s_parsed_at(c, org_index);
    if (i < 0)
        return NULL;
    const hb_policy_t *p = c->parsed.v[i];
    struct open_cache *oc = &c->opening.v[i];
    if (!(now_ms >= oc->from && now_ms < oc->until && oc->back_days == back_days)) {
        hb_policy_open_at(p, now_ms, &oc->info);
        oc->start = 0;
        bool open = oc->info.state == HB_OPEN_NOW;
        if (open)
            hb_policy_opening_start(p, now_ms, back_days, &oc->start);
        int64_t until = open ? oc->info.closes_ms : oc->info.next_open_ms;
        /* Looked at again within the hour whatever it says, and at once
         * when the next change is unknown. */
        int64_t cap = now_ms + 3600000;
        oc->from = now_ms;
        oc->until = until > now_ms && until < cap ? until : until > now_ms ? cap : now_ms + 60000;
        oc->back_days = back_days;
    }
    *info = oc->info;
    *start = oc->start;
    return p;
}

uint64_t hq_control_policy_generation(const hq_control_t *c) { return c->policy_gen; }

/* ---------------------------------------------------------- campaigns ---- */

const campaign_calendar_t *hq_control_calendar(const hq_control_t *c) { return c->cal; }
uint64_t hq_control_calendar_version(const hq_control_t *c)
{
    return campaign_calendar_version(c->cal);
}

static int s_save_campaign(hq_control_t *c, const char *id)
{
    char key[HB_CAL_ID_MAX + 16];
    snprintf(key, sizeof key, CAMPAIGN_PREFIX "%s", id);
    const campaign_t *k = campaign_calendar_find(c->cal, id);
    json_t *doc = k ? campaign_to_json(k) : NULL;
    int rc = k && !doc ? HB_ENOMEM : s_put(c, key, doc);
    json_decref(doc);
    if (rc == 0)
        rc = s_save_calendar_version(c);
    return rc;
}

static const char *s_doc_id(const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    return id ? id : "";
}

int hq_control_campaign_add(hq_control_t *c, const json_t *doc, const char *who, char *err,
                            size_t errlen)
{
    int rc = campaign_calendar_add(c->cal, c->org, doc, who, hb_now_ms(), NULL, err, errlen);
    if (rc != 0)
        return rc;
    rc = s_save_campaign(c, s_doc_id(doc));
    if (rc != 0) {
        /* Not stored, so not kept: memory must not promise what a restart
         * would forget. A new draft that nothing names can always go. */
        char id[HB_CAL_ID_MAX];
        snprintf(id, sizeof id, "%s", s_doc_id(doc));
        campaign_calendar_remove(c->cal, id, NULL, 0);
        hb_errf(err, errlen, "the campaign could not be stored (%s)", hb_strerror(rc));
    }
    return rc;
}

int hq_control_campaign_edit(hq_control_t *c, const json_t *doc, const char *who, char *err,
                             size_t errlen)
{
    int rc = campaign_calendar_edit(c->cal, c->org, doc, who, hb_now_ms(), err, errlen);
    if (rc == 0)
        rc = s_save_campaign(c, s_doc_id(doc));
    return rc;
}

int hq_control_campaign_remove(hq_control_t *c, const char *id, char *err, size_t errlen)
{
    char copy[HB_CAL_ID_MAX];
    snprintf(copy, sizeof copy, "%s", id);
    int rc = campaign_calendar_remove(c->cal, copy, err, errlen);
    if (rc == 0)
        rc = s_save_campaign(c, copy);
    return rc;
}

/* Each hall's campaign limits from its published effective policy. */
static calcheck_limits_t *s_limits(hq_control_t *c, size_t *n_out)
{
    size_t n = org_hall_count(c->org);
    calcheck_limits_t *lim = calloc(n ? n : 1, sizeof *lim);
    if (!lim)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *hall = org_hall_at(c->org, (uint32_t)i)->id;
        char key[2 * HQ_SCOPE_MAX];
        s_chain_key(c, c->published, hall, key, sizeof key);
        json_t *cached = json_object_get(c->limits_cache, key);
        if (!cached) {
            json_t *eff = NULL;
            char err[256];
            if (s_effective(c, c->published, hall, &eff, err, sizeof err) != 0) {
                lim[i] = CALCHECK_LIMITS_DEFAULT;
                continue;
            }
            json_t *cp = json_object_get(eff, "campaigns");
            const char *ov = json_string_value(json_object_get(cp, "city_overlap"));
            cached =
                json_pack("[I, I, b]", json_integer_value(json_object_get(cp, "max_concurrent")),
                          json_integer_value(json_object_get(cp, "lead_days")),
                          ov && strcmp(ov, "error") == 0);
            json_decref(eff);
            if (!cached)
                continue;
            json_object_set_new(c->limits_cache, key, cached);
        }
        lim[i].max_concurrent = (int)json_integer_value(json_array_get(cached, 0));
        lim[i].lead_days = (int)json_integer_value(json_array_get(cached, 1));
        lim[i].city_overlap_error = json_is_true(json_array_get(cached, 2));
    }
    *n_out = n;
    return lim;
}

static int s_run_check(hq_control_t *c, const campaign_t *candidate, calcheck_report_t **report,
                       char *err, size_t errlen)
{
    size_t n = 0;
    calcheck_limits_t *lim = s_limits(c, &n);
    if (!lim)
        return HB_ENOMEM;
    calcheck_input_t in = {
        .org = c->org,
        .cal = c->cal,
        .candidate = candidate,
        .limits = lim,
        .n_limits = n,
        .glossary = c->glossary,
        .today = hb_cal_day_of_ms(hb_now_ms()),
    };
    int rc = calcheck_run(&in, report, err, errlen);
    free(lim);
    return rc;
}

int hq_control_check(hq_control_t *c, const json_t *candidate, json_t **report, char *err,
                     size_t errlen)
{
    campaign_t *cand = NULL;
    if (candidate) {
        int rc = campaign_parse(candidate, &cand, err, errlen);
        if (rc == 0)
            rc = campaign_validate(cand, c->org, c->cal, err, errlen);
        if (rc != 0) {
            campaign_destroy(&cand);
            return rc;
        }
    }
    calcheck_report_t *r = NULL;
    int rc = s_run_check(c, cand, &r, err, errlen);
    campaign_destroy(&cand);
    if (rc != 0)
        return rc;
    *report = calcheck_report_to_json(r);
    calcheck_report_destroy(&r);
    return *report ? 0 : HB_ENOMEM;
}

int hq_control_campaign_step(hq_control_t *c, const char *id, campaign_action_t action,
                             const char *who, const char *note, json_t **report, char *err,
                             size_t errlen)
{
    if (report)
        *report = NULL;
    const campaign_t *k = campaign_calendar_find(c->cal, id);
    if (!k) {
        hb_errf(err, errlen, "no campaign '%.64s'", id);
        return HB_ENOTFOUND;
    }
    /* Before approval and again at publish, the whole calendar; but only
     * when the lifecycle allows the step now, so that approving a draft is
     * refused for its state rather than for findings about other campaigns. */
    bool gated = (action == CAMPAIGN_APPROVE && k->state == CAMPAIGN_SUBMITTED) ||
                 (action == CAMPAIGN_PUBLISH && k->state == CAMPAIGN_APPROVED);
    /* Four eyes before the findings: who may not take the step at all is
     * told so, whatever the calendar holds. */
    if (gated && campaign_four_eyes(k, action, who, err, errlen) != 0)
        return HB_EAUTH;
    if (gated) {
        calcheck_report_t *r = NULL;
        int rc = s_run_check(c, NULL, &r, err, errlen);
        if (rc != 0)
            return rc;
        bool blocked = calcheck_report_blocks(r, id);
        if (report)
            *report = calcheck_report_to_json(r);
        size_t errors = r->errors;
        calcheck_report_destroy(&r);
        if (blocked) {
            hb_errf(err, errlen,
                    "campaign %s cannot be %s: the coordination check found error(s) naming it "
                    "(%zu error(s) in the calendar; see the findings)",
                    id, action == CAMPAIGN_APPROVE ? "approved" : "published", errors);
            return HB_ECONFLICT;
        }
    }
    int rc = campaign_calendar_transition(c->cal, id, action, who, hb_now_ms(), note, err, errlen);
    if (rc == 0)
        rc = s_save_campaign(c, id);
    return rc;
}

typedef struct slices_ctx {
    hq_control_t *c;
    int rc;
    /* Each campaign's glossary terms, found once per rebuild (not once
     * per hall): campaign id -> [term indexes]. */
    json_t *terms_of;
} slices_ctx_t;

/* The glossary terms of every published campaign, into x->terms_of. */
static int s_campaign_terms(slices_ctx_t *x)
{
    const calcheck_glossary_t *g = x->c->glossary;
    uint32_t *found = malloc(CALCHECK_GLOSSARY_MAX * sizeof *found);
    if (!found)
        return HB_ENOMEM;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < campaign_calendar_count(x->c->cal); i++) {
        const campaign_t *k = campaign_calendar_at(x->c->cal, i);
        if (k->state != CAMPAIGN_PUBLISHED)
            continue;
        size_t n = calcheck_glossary_campaign_terms(g, &k->doc, found, CALCHECK_GLOSSARY_MAX);
        if (n == 0)
            continue;
        json_t *a = json_array();
        for (size_t j = 0; a && j < n && j < CALCHECK_GLOSSARY_MAX; j++)
            if (json_array_append_new(a, json_integer(found[j])) != 0)
                rc = HB_ENOMEM;
        if (!a || json_object_set_new(x->terms_of, k->doc.id, a) != 0)
            rc = HB_ENOMEM;
    }
    free(found);
    return rc;
}

/* Adds to a hall's slice the glossary terms its campaigns use (none: the
 * slice stays as a hall of an older build reads it). */
static int s_slice_glossary(slices_ctx_t *x, json_t *slice)
{
    const json_t *list = json_object_get(slice, "campaigns");
    size_t n = json_array_size(list), total = 0;
    for (size_t k = 0; k < n; k++) {
        const char *id = json_string_value(json_object_get(json_array_get(list, k), "id"));
        total += json_array_size(json_object_get(x->terms_of, id ? id : ""));
    }
    if (total == 0)
        return 0;
    const char **ids = calloc(n, sizeof *ids);
    const uint32_t **terms = calloc(n, sizeof *terms);
    size_t *counts = calloc(n, sizeof *counts);
    uint32_t *all = malloc(total * sizeof *all);
    int rc = 0;
    if (!ids || !terms || !counts || !all) {
        rc = HB_ENOMEM;
        goto out;
    }
    size_t at = 0;
    for (size_t k = 0; k < n; k++) {
        const char *id = json_string_value(json_object_get(json_array_get(list, k), "id"));
        const json_t *found = json_object_get(x->terms_of, id ? id : "");
        ids[k] = id ? id : "";
        terms[k] = all + at;
        for (size_t j = 0; j < json_array_size(found); j++)
            all[at++] = (uint32_t)json_integer_value(json_array_get(found, j));
        counts[k] = json_array_size(found);
    }
    json_t *gl = calcheck_glossary_slice_json(x->c->glossary, ids, terms, counts, n);
    if (!gl || json_object_set_new(slice, "glossary", gl) != 0)
        rc = HB_ENOMEM;
out:
    free(ids);
    free(terms);
    free(counts);
    free(all);
    return rc;
}

static int s_slice_cb(const org_hall_t *hall, json_t *slice, const char *problem, void *ud)
{
    slices_ctx_t *x = ud;
    if (!slice) {
        hb_log_once("control-slice", HB_LOG_WARN, "control: no slice for hall %s: %s", hall->id,
                    problem ? problem : "?");
        return 0;
    }
    if (json_object_size(x->terms_of) && s_slice_glossary(x, slice) != 0) {
        json_decref(slice);
        x->rc = HB_ENOMEM;
        return 1;
    }
    char *text = json_dumps(slice, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(slice);
    json_t *s = text ? json_string(text) : NULL;
    free(text);
    if (!s) {
        x->rc = HB_ENOMEM;
        return 1;
    }
    json_object_set_new(x->c->slice_cache, hall->id, s);
    return 0;
}

int hq_control_slice_bytes(hq_control_t *c, const char *hall, const char **data, size_t *len,
                           char *err, size_t errlen)
{
    uint64_t v = campaign_calendar_version(c->cal);
    if (v == 0) {
        hb_errf(err, errlen, "no calendar has been published yet");
        return HB_ENOTFOUND;
    }
    int32_t today = hb_cal_day_of_ms(hb_now_ms());
    if (c->slice_version != v || c->slice_org_gen != org_generation(c->org) ||
        c->slice_day != today) {
        /* All halls at once: each published scope is resolved once. */
        json_object_clear(c->slice_cache);
        slices_ctx_t x = {c, 0, json_object()};
        int rc = x.terms_of ? s_campaign_terms(&x) : HB_ENOMEM;
        if (rc == 0)
            rc = campaign_calendar_slices(c->cal, c->org, today, s_slice_cb, &x, err, errlen);
        if (rc == 0)
            rc = x.rc;
        json_decref(x.terms_of);
        if (rc != 0)
            return rc;
        c->slice_version = v;
        c->slice_org_gen = org_generation(c->org);
        c->slice_day = today;
    }
    json_t *s = json_object_get(c->slice_cache, hall);
    if (!s) {
        hb_errf(err, errlen, "hall %s has no slice (not placed in the organisation)", hall);
        return HB_ENOTFOUND;
    }
    *data = json_string_value(s);
    *len = json_string_length(s);
    return 0;
}

int hq_control_slice_without_glossary(const char *slice, size_t len, char **out, size_t *outlen,
                                      char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    json_error_t jerr;
    json_t *doc = json_loadb(slice, len, 0, &jerr);
    if (!doc) {
        hb_errf(err, errlen, "the slice does not read back: %s", jerr.text);
        return HB_EPARSE;
    }
    int rc = 0;
    if (json_object_get(doc, "glossary")) {
        json_object_del(doc, "glossary");
        *out = json_dumps(doc, JSON_COMPACT);
        if (*out)
            *outlen = strlen(*out);
        else
            rc = HB_ENOMEM;
    }
    json_decref(doc);
    return rc;
}

/* ----------------------------------------------------------- glossary ---- */

const calcheck_glossary_t *hq_control_glossary(const hq_control_t *c) { return c->glossary; }

int hq_control_set_glossary(hq_control_t *c, const json_t *doc, char *err, size_t errlen)
{
    calcheck_glossary_t *g = NULL;
    int rc = calcheck_glossary_from_json(doc, &g, err, errlen);
    if (rc != 0)
        return rc;
    json_t *norm = calcheck_glossary_to_json(g);
    rc = norm ? s_put(c, "glossary", norm) : HB_ENOMEM;
    json_decref(norm);
    if (rc != 0) {
        calcheck_glossary_destroy(&g);
        hb_errf(err, errlen, "the glossary could not be stored (%s)", hb_strerror(rc));
        return rc;
    }
    calcheck_glossary_destroy(&c->glossary);
    c->glossary = g;
    /* The halls hold the definitions their campaigns use in their slices:
     * once anything is published, a new glossary is a new calendar version,
     * so that every hall is sent its slice with the new words. */
    if (campaign_calendar_version(c->cal) > 0) {
        campaign_calendar_bump(c->cal);
        rc = s_save_calendar_version(c);
        if (rc != 0) {
            hb_errf(err, errlen,
                    "the glossary is stored, but the calendar's new version could "
                    "not be (%s): halls get the new words with the next publication",
                    hb_strerror(rc));
            return rc;
        }
    }
    return 0;
}
