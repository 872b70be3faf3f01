/* The notifier's sender thread (see notify.h): takes queued deliveries in
 * the order they fall due, formats each for its channel (formats.h),
 * sends it with libcurl (HTTP POST of JSON for the webhook and the robots,
 * SMTP for e-mail), records every attempt, and retries a failed one after
 * retry_first, then twice as long each time up to retry_max, until
 * attempts_max; then it is given up, recorded as such, and never sent
 * again. The loop only queues: a webhook that hangs holds this thread for
 * one attempt's timeout and nothing else. Stopping aborts an attempt under
 * way (libcurl's progress callback reads the stop flag). */
#include "notify_int.h"

#include "hallbus/error.h"
#include "hallbus/log.h"
#include "hallbus/text.h"
#include "hallbus/time.h"
#include "hallbus/version.h"

#include <curl/curl.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SENDER_ANSWER_MAX 65536 /* a webhook's answer kept, at most */
#define SENDER_SCAN_MAX 100000  /* records one listing reads */

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;
static void s_curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct answer {
    char buf[SENDER_ANSWER_MAX];
    size_t len;
} answer_t;

static size_t s_write(char *p, size_t size, size_t nmemb, void *arg)
{
    answer_t *a = arg;
    size_t n = size * nmemb;
    size_t room = sizeof a->buf - 1 - a->len;
    memcpy(a->buf + a->len, p, n < room ? n : room);
    a->len += n < room ? n : room;
    a->buf[a->len] = '\0';
    return n; /* the rest is read and dropped */
}

static int s_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    hq_notify_t *n = arg;
    return __atomic_load_n(&n->stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/* A transfer under way: curl's handle and where curl writes why it failed. */
typedef struct transfer {
    CURL *c;
    char errbuf[CURL_ERROR_SIZE];
} transfer_t;

/* Starts a transfer with what every one sets: `url`, the `protocols` it
 * may use, limits and where errors are written. HB_ENOMEM when curl cannot
 * make a handle. */
static int s_begin(hq_notify_t *n, transfer_t *t, const char *url, const char *protocols)
{
    t->errbuf[0] = '\0';
    CURL *c = t->c = curl_easy_init();
    if (!c)
        return HB_ENOMEM;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)n->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)n->cfg.timeout_ms);
    /* An alert goes where the subscription says, never through a proxy the
     * environment names, never where a redirect points. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, s_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, n);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
    return 0;
}

/* Runs the transfer `t` set up and ends it (`list` freed with it): 0 once
 * an answer came, its code in *code, or HB_EIO saying why it failed. */
static int s_perform(transfer_t *t, struct curl_slist *list, long *code, char *err, size_t errlen)
{
    CURL *c = t->c;
    const char *errbuf = t->errbuf;
    CURLcode rc = curl_easy_perform(c);
    *code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        hb_errf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return HB_EIO;
    }
    return 0;
}

/* POSTs `body` (JSON) to `url`: 0 once an answer came (its status in
 * `*status`, its body in `ans`), HB_EIO with `err` otherwise. */
static int s_post(hq_notify_t *n, const char *url, const char *body, long *status, answer_t *ans,
                  char *err, size_t errlen)
{
    transfer_t t;
    if (s_begin(n, &t, url, "http,https") != 0)
        return HB_ENOMEM;
    char ua[64];
    snprintf(ua, sizeof ua, "User-Agent: hallbus/%s", hb_version());
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    h = curl_slist_append(h, ua);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(t.c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(t.c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(t.c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(t.c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(t.c, CURLOPT_WRITEDATA, ans);
    return s_perform(&t, h, status, err, errlen);
}

typedef struct upload {
    const char *p;
    size_t left;
} upload_t;

static size_t s_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    upload_t *u = arg;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;
    memcpy(buf, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

/* Sends a whole message by SMTP to the comma-separated `to`. */
static int s_smtp(hq_notify_t *n, const char *to, const char *msg, size_t len, long *code,
                  char *err, size_t errlen)
{
    transfer_t t;
    if (s_begin(n, &t, n->cfg.smtp_url, "smtp,smtps") != 0)
        return HB_ENOMEM;
    char from[300];
    snprintf(from, sizeof from, "<%s>", n->cfg.smtp_from);
    struct curl_slist *rcpt = NULL;
    char one[300];
    for (const char *p = to; *p;) {
        size_t k = strcspn(p, ",");
        snprintf(one, sizeof one, "<%.*s>", (int)(k < 280 ? k : 280), p);
        rcpt = curl_slist_append(rcpt, one);
        p += k;
        if (*p == ',')
            p++;
    }
    upload_t u = {msg, len};
    curl_easy_setopt(t.c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(t.c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(t.c, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt(t.c, CURLOPT_READDATA, &u);
    curl_easy_setopt(t.c, CURLOPT_UPLOAD, 1L);
    return s_perform(&t, rcpt, code, err, errlen);
}

/* A chat robot answers 200 with {"errcode": 0} when it took the message,
 * and 200 with another code when it did not (a bad key, too many a
 * minute). */
static bool s_robot_ok(const answer_t *ans, char *err, size_t errlen)
{
    json_t *o = json_loadb(ans->buf, ans->len, 0, NULL);
    json_t *code = json_object_get(o, "errcode");
    bool ok = json_is_integer(code) && json_integer_value(code) == 0;
    if (!ok)
        hb_errf(err, errlen, "the robot refused: %.200s", ans->buf);
    json_decref(o);
    return ok;
}

/* The address as recorded: a webhook's URL without its query, which holds
 * the robots' keys. */
static void s_target(const notify_channel_t *ch, char *out, size_t outlen)
{
    if (ch->type == NOTIFY_CH_EMAIL)
        snprintf(out, outlen, "%s", ch->to);
    else if (ch->type == NOTIFY_CH_HALL_PAGE)
        snprintf(out, outlen, "hall_page");
    else
        snprintf(out, outlen, "%.*s", (int)strcspn(ch->url, "?#"), ch->url);
}

/* One try: 0 delivered, else why not in `err` (`*status` the HTTP status
 * or SMTP code when there was an answer). */
static int s_try(hq_notify_t *n, notify_job_t *j, long *status, char *err, size_t errlen)
{
    *status = 0;
    const notify_alert_t *a = &j->alert;
    json_t *body = NULL;
    switch (j->ch.type) {
    case NOTIFY_CH_HALL_PAGE:
        return 0; /* shown from HQ's notices of the hall (hq_notify_hall_notices) */
    case NOTIFY_CH_ALERTMANAGER:
        body = notify_alertmanager_json(a, j->sub_id, n->cfg.external_url);
        break;
    case NOTIFY_CH_WECOM: body = notify_wecom_json(a, n->cfg.external_url); break;
    case NOTIFY_CH_DINGTALK: body = notify_dingtalk_json(a, n->cfg.external_url); break;
    case NOTIFY_CH_EMAIL: {
        hb_text_t msg = HB_TEXT_INIT(NOTIFY_MAIL_MAX);
        char mid[128];
        snprintf(mid, sizeof mid, "alert-%" PRIu64 ".%s.%u@hallbus", a->rec.id, j->sub_id,
                 (unsigned)j->chan_index);
        int rc = notify_email(a, n->cfg.smtp_from, j->ch.to, mid, hb_now_ms(), n->cfg.external_url,
                              &msg);
        if (rc == 0)
            rc = s_smtp(n, j->ch.to, msg.p, msg.len, status, err, errlen);
        else
            hb_errf(err, errlen, "cannot build the message: %s", hb_strerror(rc));
        hb_text_free(&msg);
        if (rc == 0 && (*status < 200 || *status >= 300)) {
            hb_errf(err, errlen, "the mail server answered %ld", *status);
            rc = HB_EIO;
        }
        return rc;
    }
    default: hb_errf(err, errlen, "unknown channel"); return HB_EINVAL;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        hb_errf(err, errlen, "out of memory");
        return HB_ENOMEM;
    }
    static __thread answer_t ans;
    ans.len = 0;
    ans.buf[0] = '\0';
    int rc = s_post(n, j->ch.url, text, status, &ans, err, errlen);
    free(text);
    if (rc != 0)
        return rc;
    if (*status < 200 || *status >= 300) {
        hb_errf(err, errlen, "HTTP %ld: %.200s", *status, ans.buf);
        return HB_EIO;
    }
    if ((j->ch.type == NOTIFY_CH_WECOM || j->ch.type == NOTIFY_CH_DINGTALK) &&
        !s_robot_ok(&ans, err, errlen))
        return HB_EIO;
    return 0;
}

/* Writes an attempt, keeping the newest deliveries_max. */
static void s_record(hq_notify_t *n, const notify_job_t *j, bool ok, bool final, long status,
                     const char *err)
{
    char at[HB_RFC3339_MAX], target[NOTIFY_TO_MAX];
    hb_time_format(hb_now_ms(), at);
    s_target(&j->ch, target, sizeof target);
    pthread_mutex_lock(&n->db_mu);
    MDB_txn *txn;
    if (mdb_txn_begin(n->db.env, NULL, 0, &txn) != 0) {
        pthread_mutex_unlock(&n->db_mu);
        return;
    }
    uint64_t seq = notify_next_meta(n, txn, "next_delivery");
    json_t *o = json_pack(
        "{s:I, s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:b, s:b, s:i, s:s, s:s}", "id",
        (json_int_t)seq, "alert", (json_int_t)j->alert.rec.id, "hall", j->alert.rec.hall, "kind",
        alert_kind_name(j->alert.rec.alert.kind), "subscription", j->sub_id, "channel",
        (int)j->chan_index, "type", notify_channel_name(j->ch.type), "target", target, "attempt",
        j->attempt, "at", at, "ok", ok, "final", final, "status", (int)status, "error",
        err ? err : "", "level", notify_level_name(j->alert.level));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    int rc = HB_ENOMEM;
    if (text) {
        uint8_t key[8];
        hb_put_be64(key, seq);
        MDB_val k = {8, key}, v = {strlen(text), text};
        rc = mdb_put(txn, n->dbi_deliveries, &k, &v, 0);
        free(text);
    }
    if (rc == 0 && (ok || final)) {
        /* Done for good: never sent again, a restart included. */
        uint8_t dk[13];
        hb_put_be64(dk, j->alert.rec.id);
        hb_put_be32(dk + 8, j->sub_num);
        dk[12] = j->chan_index;
        uint8_t one = ok ? 1 : 0;
        MDB_val k = {13, dk}, v = {1, &one};
        rc = mdb_put(txn, n->dbi_done, &k, &v, 0);
    }
    if (rc == 0) {
        /* The oldest attempts past the bound go, a few per record. */
        MDB_stat st;
        if (mdb_stat(txn, n->dbi_deliveries, &st) == 0 && st.ms_entries > n->cfg.deliveries_max) {
            MDB_cursor *cur;
            MDB_val k, v;
            size_t over = st.ms_entries - n->cfg.deliveries_max;
            if (mdb_cursor_open(txn, n->dbi_deliveries, &cur) == 0) {
                for (size_t i = 0;
                     i < over && i < 16 && mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0; i++)
                    mdb_cursor_del(cur, 0);
                mdb_cursor_close(cur);
            }
        }
        rc = mdb_txn_commit(txn);
        if (rc == MDB_MAP_FULL)
            hb_store_grow(&n->db); /* the next record finds room */
    } else {
        mdb_txn_abort(txn);
    }
    pthread_mutex_unlock(&n->db_mu);
    if (rc != 0)
        hb_log_once("notify-record", HB_LOG_ERROR, "notify: cannot record a delivery: %s",
                    mdb_strerror(rc));
}

static void s_forget(hq_notify_t *n, uint64_t alert_id)
{
    uint8_t key[8];
    hb_put_be64(key, alert_id);
    pthread_mutex_lock(&n->db_mu);
    MDB_txn *txn;
    if (mdb_txn_begin(n->db.env, NULL, 0, &txn) == 0) {
        MDB_cursor *cur;
        if (mdb_cursor_open(txn, n->dbi_done, &cur) == 0) {
            MDB_val k = {8, key}, v;
            int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            while (rc == 0 && k.mv_size == 13 && memcmp(k.mv_data, key, 8) == 0) {
                mdb_cursor_del(cur, 0);
                rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
                if (rc != 0 || !(k.mv_size == 13 && memcmp(k.mv_data, key, 8) == 0))
                    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            }
            mdb_cursor_close(cur);
        }
        if (mdb_txn_commit(txn) != 0)
            hb_log_once("notify-forget", HB_LOG_WARN, "notify: cannot forget alert %" PRIu64,
                        alert_id);
    }
    pthread_mutex_unlock(&n->db_mu);
}

static void s_run_job(hq_notify_t *n, notify_job_t *j, bool *again)
{
    *again = false;
    if (j->kind == NOTIFY_JOB_FORGET) {
        s_forget(n, j->alert.rec.id);
        return;
    }
    char err[512] = "";
    long status = 0;
    int rc = s_try(n, j, &status, err, sizeof err);
    j->attempt++;
    if (__atomic_load_n(&n->stop, __ATOMIC_RELAXED) && rc != 0)
        return; /* aborted by the stop: tried again after the restart */
    bool final = rc != 0 && j->attempt >= n->cfg.attempts_max;
    s_record(n, j, rc == 0, final, status, rc == 0 ? NULL : err);
    pthread_mutex_lock(&n->q_mu);
    if (rc == 0) {
        n->stats.sent++;
    } else {
        n->stats.failed_attempts++;
        if (final)
            n->stats.given_up++;
    }
    pthread_mutex_unlock(&n->q_mu);
    if (rc == 0 || final) {
        if (rc != 0)
            hb_warn("notify: alert %" PRIu64 " to %s channel %u given up after %d attempts: %s",
                    j->alert.rec.id, j->sub_id, (unsigned)j->chan_index, j->attempt, err);
        return;
    }
    int64_t wait = n->cfg.retry_first_ms;
    for (int i = 1; i < j->attempt && wait < n->cfg.retry_max_ms; i++)
        wait *= 2;
    if (wait > n->cfg.retry_max_ms)
        wait = n->cfg.retry_max_ms;
    j->due_ms = hb_mono_ms() + wait;
    *again = true;
}

static void *s_thread(void *arg)
{
    hq_notify_t *n = arg;
    pthread_setname_np(pthread_self(), "hq-notify");
    pthread_mutex_lock(&n->q_mu);
    while (!n->stop) {
        /* The job due first; equal ones in the order queued. */
        notify_job_t **best = NULL;
        for (notify_job_t **p = &n->q_head; *p; p = &(*p)->next)
            if (!best || (*p)->due_ms < (*best)->due_ms)
                best = p;
        if (!best) {
            pthread_cond_wait(&n->q_cond, &n->q_mu);
            continue;
        }
        int64_t now = hb_mono_ms();
        if ((*best)->due_ms > now) {
            struct timespec ts;
            hb_deadline_after(CLOCK_MONOTONIC, (*best)->due_ms - now, &ts);
            pthread_cond_timedwait(&n->q_cond, &n->q_mu, &ts);
            continue;
        }
        notify_job_t *j = *best;
        *best = j->next;
        j->next = NULL;
        pthread_mutex_unlock(&n->q_mu);
        bool again;
        s_run_job(n, j, &again);
        pthread_mutex_lock(&n->q_mu);
        if (again) {
            j->next = n->q_head;
            n->q_head = j;
        } else {
            n->q_len--;
            free(j);
        }
    }
    pthread_mutex_unlock(&n->q_mu);
    return NULL;
}

int notify_sender_start(hq_notify_t *n, char *err, size_t errlen)
{
    pthread_once(&s_curl_once, s_curl_init);
    pthread_mutex_init(&n->q_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->q_cond, &ca);
    pthread_condattr_destroy(&ca);
    n->q_inited = true;
    size_t want = n->cfg.senders < 1 ? 1 : (size_t)n->cfg.senders;
    if (want > NOTIFY_SENDERS_MAX)
        want = NOTIFY_SENDERS_MAX;
    for (size_t i = 0; i < want; i++) {
        int rc = pthread_create(&n->threads[i], NULL, s_thread, n);
        if (rc != 0) {
            hb_errf(err, errlen, "cannot start a sender thread: %s", strerror(rc));
            notify_sender_stop(n);
            return HB_ESYS;
        }
        n->n_threads++;
    }
    return 0;
}

void notify_sender_stop(hq_notify_t *n)
{
    if (!n->q_inited)
        return;
    pthread_mutex_lock(&n->q_mu);
    __atomic_store_n(&n->stop, true, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&n->q_cond);
    pthread_mutex_unlock(&n->q_mu);
    for (size_t i = 0; i < n->n_threads; i++)
        pthread_join(n->threads[i], NULL);
    n->n_threads = 0;
    while (n->q_head) {
        notify_job_t *j = n->q_head;
        n->q_head = j->next;
        free(j);
    }
    pthread_cond_destroy(&n->q_cond);
    pthread_mutex_destroy(&n->q_mu);
    n->q_inited = false;
}

static int s_push(hq_notify_t *n, notify_job_t *j)
{
    pthread_mutex_lock(&n->q_mu);
    if (n->q_len >= n->cfg.queue_max) {
        n->stats.queue_full++;
        pthread_mutex_unlock(&n->q_mu);
        free(j);
        return HB_ETOOBIG;
    }
    j->due_ms = hb_mono_ms();
    /* At the tail: among jobs due alike, the first queued goes first. */
    notify_job_t **p = &n->q_head;
    while (*p)
        p = &(*p)->next;
    *p = j;
    n->q_len++;
    if (j->kind == NOTIFY_JOB_SEND)
        n->stats.queued++;
    pthread_cond_signal(&n->q_cond);
    pthread_mutex_unlock(&n->q_mu);
    return 0;
}

int notify_sender_queue(hq_notify_t *n, const notify_alert_t *a, const notify_sub_t *s, size_t chan)
{
    notify_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return HB_ENOMEM;
    j->kind = NOTIFY_JOB_SEND;
    j->alert = *a;
    snprintf(j->sub_id, sizeof j->sub_id, "%s", s->id);
    j->sub_num = s->num;
    j->chan_index = (uint8_t)chan;
    j->ch = s->ch[chan];
    return s_push(n, j);
}

void notify_sender_forget(hq_notify_t *n, uint64_t alert_id)
{
    notify_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->kind = NOTIFY_JOB_FORGET;
    j->alert.rec.id = alert_id;
    s_push(n, j);
}

int hq_notify_deliveries_json(hq_notify_t *n, uint64_t alert_id, uint64_t before, size_t limit,
                              json_t **out)
{
    *out = NULL;
    if (limit == 0 || limit > NOTIFY_PAGE_MAX)
        return HB_EINVAL;
    json_t *arr = json_array();
    if (!arr)
        return HB_ENOMEM;
    uint64_t next = 0;
    pthread_mutex_lock(&n->db_mu);
    MDB_txn *txn;
    int rc = mdb_txn_begin(n->db.env, NULL, MDB_RDONLY, &txn) == 0 ? 0 : HB_EDB;
    if (rc == 0) {
        MDB_cursor *cur;
        mdb_cursor_open(txn, n->dbi_deliveries, &cur);
        MDB_val k, v;
        uint8_t key[8];
        int mrc;
        if (before) {
            hb_put_be64(key, before);
            k.mv_size = 8;
            k.mv_data = key;
            mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            mrc = mrc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
                           : mdb_cursor_get(cur, &k, &v, MDB_LAST);
        } else {
            mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        }
        for (size_t scanned = 0; mrc == 0 && scanned < SENDER_SCAN_MAX; scanned++) {
            json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            if (o && (!alert_id ||
                      (uint64_t)json_integer_value(json_object_get(o, "alert")) == alert_id)) {
                if (json_array_size(arr) == limit) {
                    next = hb_get_be64(k.mv_data) + 1;
                    json_decref(o);
                    break;
                }
                json_array_append_new(arr, o);
            } else {
                json_decref(o);
            }
            mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
        }
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
    }
    pthread_mutex_unlock(&n->db_mu);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = json_pack("{s:o, s:o}", "deliveries", arr, "next_before",
                     next ? json_integer((json_int_t)next) : json_null());
    return *out ? 0 : HB_ENOMEM;
}
