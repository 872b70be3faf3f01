/* HQ's in-memory registry of halls: what the loop knows of each hall (the
 * committed and accepted sequence, counts, digest, last seen, its current
 * connection). Looked up by hall id (the kit's id map) or number; each
 * hall also caches its index in the organisation (control.h). Owned by the
 * loop thread; the writer has its own durable copy. */
#ifndef HQD_HALLS_H
#define HQD_HALLS_H

#include "hqstore.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HQ_ROUTING_ID_MAX 256
#define HQ_KEY_Z85 41          /* a Z85 public key and its NUL */
#define HQ_LINK_REASON_MAX 160 /* a refusal or anomaly reason kept per hall */

typedef struct hq_hall {
    char id[HB_HALL_ID_MAX];
    uint32_t num;
    uint64_t committed_seq; /* durable at HQ */
    uint64_t accepted_seq;  /* handed to the writer (>= committed_seq) */
    uint64_t events;
    hb_digest_t digest;
    int64_t last_seen_ms;    /* wall clock of the last frame, 0 = never */
    int64_t last_rx_mono;    /* monotonic, for online/offline */
    uint64_t hall_last_seq;  /* what the hall last said it holds */
    uint64_t refused;        /* frames refused from this hall */
    uint64_t policy_version; /* what the hall's last Hello said it runs */
    uint64_t calendar_version;
    bool takes_bookings; /* its last Hello said it answers BookingRequest */
    bool reads_glossary; /* its last Hello said its slice reader takes "glossary" */
    size_t rid_len;      /* routing id of its current connection */
    uint8_t rid[HQ_ROUTING_ID_MAX];
    /* The link as HQ sees it (docs/ALERTS.md: hall_blocked, stream_conflict,
     * clock_skew, event_anomaly). */
    char key[HQ_KEY_Z85];    /* the enrolled key last seen on its messages */
    uint64_t key_generation; /* the ZAP table generation `key` was checked at */
    bool revoked;            /* its key was removed: nothing is taken from it */
    bool expired;            /* ... because its certificate expired (revoked is set too) */
    int blocked_code;        /* RejectCode that stops its stream now; 0: none */
    uint64_t blocked_seq;
    int64_t blocked_since_ms;
    char blocked_reason[HQ_LINK_REASON_MAX];
    uint64_t conflict_seq; /* a resend that differs from the stored bytes; 0: none */
    int64_t conflict_since_ms;
    bool skew_known;
    int64_t clock_skew_ms; /* the hall's clock minus HQ's, at its last Hello or heartbeat */
    uint64_t anomalies;    /* events stored with a flag since enrolment (durable) */
    uint64_t last_anomaly_seq;
    int64_t last_anomaly_ms;                      /* when the last one was stored, HQ's clock */
    char last_anomaly_reason[HQ_LINK_REASON_MAX]; /* "" after a restart until read */
    /* The hall's room for events, from its last Hello or heartbeat
     * (hall_disk_full): since when its disk is full by its clock (0: room),
     * the events it refused since it started, and when HQ last saw that
     * count rise (HQ's clock). */
    int64_t disk_full_since_ms;
    uint64_t disk_refused;
    int64_t disk_refused_seen_ms;
    /* Its place in the organisation: the org's hall index (-1: not placed)
     * as of control generation `org_gen` (hq_control_org_index keeps both),
     * so that the board, alerting and neighbour rounds reach the hall's
     * org record by number, never by a lookup of its id. */
    uint64_t org_gen;
    int32_t org_index;
} hq_hall_t;

typedef struct hq_halls hq_halls_t;

hq_halls_t *hq_halls_new(void);
void hq_halls_destroy(hq_halls_t **halls);
/* Finds a hall by id, or NULL. */
hq_hall_t *hq_halls_find(hq_halls_t *halls, const char *id);
/* Finds or adds a hall; a new one gets the next number. NULL on ENOMEM. */
hq_hall_t *hq_halls_get(hq_halls_t *halls, const char *id);
/* The hall's committed figures become the tally a commit (or its record)
 * reports: the committed sequence, events, digest and anomalies. */
void hq_hall_take_tally(hq_hall_t *h, const hq_tally_t *t);
/* Adds a hall from its durable record (at start). */
hq_hall_t *hq_halls_load(hq_halls_t *halls, const hq_hall_record_t *rec);
hq_hall_t *hq_halls_by_num(hq_halls_t *halls, uint32_t num);
size_t hq_halls_count(const hq_halls_t *halls);
/* The i-th hall in id order (0 <= i < count); ids sorted lazily. */
hq_hall_t *hq_halls_sorted(hq_halls_t *halls, size_t i);
void hq_halls_set_next_num(hq_halls_t *halls, uint32_t next);

#endif
