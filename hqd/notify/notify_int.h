/* What notify.c (the loop thread's decisions), subs.c (the subscriptions'
 * documents) and sender.c (the sender thread) share: the notifier's state, the parsed subscriptions and
 * silences, the alerts followed, the queue. Private to hqd/notify/. */
#ifndef HQD_NOTIFY_INT_H
#define HQD_NOTIFY_INT_H

#include "notify.h"
#include "words.h"

#include "hallbus/idmap.h"
#include "hallbus/store.h"
#include "hallbus/vec.h"

#include <pthread.h>
#include <stdbool.h>

enum {
    NOTIFY_CH_ALERTMANAGER = 1,
    NOTIFY_CH_WECOM,
    NOTIFY_CH_DINGTALK,
    NOTIFY_CH_EMAIL,
    NOTIFY_CH_HALL_PAGE
};
enum { NOTIFY_SCOPE_NETWORK = 1, NOTIFY_SCOPE_REGION, NOTIFY_SCOPE_HALL };

#define NOTIFY_ALL_KINDS (~(uint64_t)0)
/* What was done for an alert: (subscription number, channel index). */
#define NOTIFY_DONE_KEY(num, chan) (((uint64_t)(num) << 8) | (uint64_t)(chan))

typedef struct notify_channel {
    int type;
    char url[NOTIFY_URL_MAX];
    char to[NOTIFY_TO_MAX]; /* e-mail: "a@x,b@y" */
} notify_channel_t;

typedef struct notify_sub {
    char id[NOTIFY_ID_MAX];
    uint32_t num; /* for life, stored with it: the key of what was done */
    char role[32];
    int scope_kind;
    char scope_id[NOTIFY_ID_MAX];
    int level;      /* of the scope: 0 hall, 1 city, 2 province, 3 network */
    uint64_t kinds; /* bit per alert kind */
    int min_severity;
    int64_t min_age_s;
    bool escalated;
    size_t n_channels;
    notify_channel_t ch[NOTIFY_CHANNELS_MAX];
    json_t *doc; /* as stored, with "num" */
} notify_sub_t;

typedef struct notify_silence {
    uint64_t id;
    int scope_kind;
    char scope_id[NOTIFY_ID_MAX];
    uint64_t kinds;
    uint64_t alert_id; /* 0: any */
    int64_t until_ms, created_ms;
    char reason[NOTIFY_TEXT_MAX];
    char by[64];
} notify_silence_t;

/* An open alert the loop follows. */
typedef struct notify_followed {
    notify_alert_t alert;
    bool acked, counted_silence, on_hall_page;
    int64_t acked_ms;
    int64_t next_ms;       /* when it next needs a look; 0: at the next tick */
    HB_VEC(uint64_t) done; /* NOTIFY_DONE_KEYs queued or done */
} notify_followed_t;

/* A delivery the sender owns once queued. */
typedef struct notify_job {
    struct notify_job *next;
    int kind; /* NOTIFY_JOB_SEND or NOTIFY_JOB_FORGET */
    notify_alert_t alert;
    char sub_id[NOTIFY_ID_MAX];
    uint32_t sub_num;
    uint8_t chan_index;
    notify_channel_t ch;
    int attempt;    /* tries made */
    int64_t due_ms; /* the next try, monotonic clock */
} notify_job_t;

enum { NOTIFY_JOB_SEND = 1, NOTIFY_JOB_FORGET = 2 };

struct hq_notify {
    hq_notify_config_t cfg;
    char smtp_url[512], smtp_from[256], external_url[512];
    hq_control_t *ctl;
    alertstore_t *alerts;

    /* The loop thread's. */
    HB_VEC(notify_sub_t) subs;
    HB_VEC(notify_silence_t) silences;
    HB_VEC(notify_followed_t) followed;
    hb_idmap_t followed_by_id; /* alert id (8 bytes) -> index in `followed` */
    /* Halls whose notices changed: sent at the next tick. */
    HB_VEC(struct { char id[HB_HALL_ID_MAX]; }) dirty;
    hq_notify_notices_fn notices_fn;
    void *notices_arg;

    /* The store: every transaction under db_mu (the loop's API writes and
     * the sender's records), so that growing the map finds none open. */
    hb_store_t db;
    pthread_mutex_t db_mu;
    MDB_dbi dbi_subs, dbi_silences, dbi_acks, dbi_done, dbi_deliveries, dbi_meta;

    /* The queue, under q_mu. */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cond;
    notify_job_t *q_head;
    size_t q_len;
    bool stop;
    bool q_inited;
    size_t n_threads;
    pthread_t threads[NOTIFY_SENDERS_MAX];
    hq_notify_stats_t stats;
};

/* subs.c: a channel's name and back (0: none), and the parts of a
 * subscription's document the silences share (a scope, kinds), each 0 or
 * HB_EINVAL with `err`; a subscription read from its document. */
const char *notify_channel_name(int type);
int notify_channel_parse(const char *name);
int notify_scope_parse(hq_notify_t *n, const char *scope, notify_sub_t *s, char *err,
                       size_t errlen);
int notify_kinds_parse(const json_t *kinds, uint64_t *mask, char *err, size_t errlen);
int notify_sub_parse(hq_notify_t *n, const char *id, const json_t *doc, notify_sub_t *s, char *err,
                     size_t errlen);

/* notify.c */
int notify_level_at(const hq_notify_t *n, const alert_record_t *rec, int64_t now_ms);
/* Under db_mu: one put (growing the map when it fills). */
int notify_db_put(hq_notify_t *n, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                  size_t vlen);
/* Inside a write transaction: the meta counter `name`, moved on. */
uint64_t notify_next_meta(hq_notify_t *n, MDB_txn *txn, const char *name);
/* A record's JSON put (under db_mu), and a record deleted in a transaction
 * of its own (an absent one is no error). 0, HB_ENOMEM, HB_EDB. */
int notify_db_put_json(hq_notify_t *n, MDB_dbi dbi, const void *key, size_t klen, const json_t *o);
int notify_db_del(hq_notify_t *n, MDB_dbi dbi, const void *key, size_t klen);
/* Everything followed gets a look at the next tick. */
void notify_look_again(hq_notify_t *n);

/* sender.c */
int notify_sender_start(hq_notify_t *n, char *err, size_t errlen);
void notify_sender_stop(hq_notify_t *n);
/* Queues channel `chan` of `s` for `a`: 0, or HB_ETOOBIG when the queue is
 * full (nothing queued). */
int notify_sender_queue(hq_notify_t *n, const notify_alert_t *a, const notify_sub_t *s,
                        size_t chan);
/* The stored marks of a cleared alert go (best effort: a full queue keeps
 * them until the next prune). */
void notify_sender_forget(hq_notify_t *n, uint64_t alert_id);

#endif
