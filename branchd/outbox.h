/* The hall's outbox: every event the hall produces, numbered 1, 2, 3, ... and
 * committed to LMDB (synced) before anyone is told it was accepted. Events
 * stay until HQ has acknowledged them and the local retention has passed.
 *
 * The outbox also keeps the stream digest (digest.h) and HQ's acknowledged
 * sequence. It is single-threaded: branchd's loop thread owns it. It does not
 * know about the network; the uplink reads from it and reports acks to it. */
#ifndef BRANCHD_OUTBOX_H
#define BRANCHD_OUTBOX_H

#include "hallbus.pb-c.h"
#include "hallbus/digest.h"
#include "hallbus/metrics.h"

#include <stddef.h>
#include <stdint.h>

typedef struct outbox outbox_t;

/* Opens or creates the outbox in directory `dir`. */
int outbox_open(const char *dir, size_t map_size, size_t map_max, outbox_t **out);
void outbox_close(outbox_t **outbox);

/* Numbers the `n` envelopes (sets each one's seq), encodes and stores them
 * in one synced transaction: all or nothing. On success `*first_seq` is the
 * first number given. Grows the map when it fills. HB_ENOSPC when the disk
 * has no room, HB_EMAPFULL when the map is at its maximum: nothing was
 * written, the outbox is as it was, and the refusal is counted
 * (outbox_space). */
int outbox_append(outbox_t *outbox, Hallbus__Envelope **envs, size_t n, uint64_t *first_seq);

/* ---- group commit (issue 17): the events of several requests in one
 * synced transaction.
 *
 * outbox_stage numbers `n` envelopes after the last stored and staged ones
 * (sets each one's seq; `*first_seq` the first) and encodes them now, into
 * the outbox's own buffer: the envelopes may go once it returns. Staged
 * events are not stored: outbox_read and outbox_last_seq know nothing of
 * them. outbox_commit_staged stores every staged event in one synced
 * transaction, all or nothing, with outbox_append's refusals (HB_ENOSPC,
 * HB_EMAPFULL counted in outbox_space); the stage is empty afterwards
 * whether it succeeded or not (a refused stage is gone: its events were
 * never stored). While events are staged outbox_append and
 * outbox_append_with refuse with HB_ECONFLICT, which would take their
 * numbers. outbox_stage refuses with HB_ETOOBIG past OUTBOX_STAGE_EVENTS
 * events or OUTBOX_STAGE_BYTES bytes (nothing staged then). */
#define OUTBOX_STAGE_EVENTS 256
#define OUTBOX_STAGE_BYTES (1u << 20)
int outbox_stage(outbox_t *outbox, Hallbus__Envelope **envs, size_t n, uint64_t *first_seq);
int outbox_commit_staged(outbox_t *outbox, uint64_t *first_seq);
/* Empties the stage without storing anything. */
void outbox_drop_staged(outbox_t *outbox);
/* Events staged now, and their bytes in `*bytes` (may be NULL). */
size_t outbox_staged(const outbox_t *outbox, size_t *bytes);

/* A named record of the hall's durable side state (the applied policy, the
 * state snapshot), kept next to the events. Keys are short text
 * (OUTBOX_KEY_MAX bytes at most); a NULL `data` deletes the record. */
#define OUTBOX_KEY_MAX 64
typedef struct outbox_record {
    const char *key;
    const void *data;
    size_t len;
} outbox_record_t;
/* outbox_append, and the records written in the same transaction: the
 * events and the records are stored together or not at all. `n` may be 0
 * when `nrecs` is not (records only). */
int outbox_append_with(outbox_t *outbox, Hallbus__Envelope **envs, size_t n,
                       const outbox_record_t *recs, size_t nrecs, uint64_t *first_seq);
/* Reads record `key`: `fn` gets its bytes, valid only during the call, and
 * its return value is returned. HB_ENOTFOUND when there is none. */
typedef int (*outbox_record_fn)(const void *data, size_t len, void *arg);
int outbox_get_record(outbox_t *outbox, const char *key, outbox_record_fn fn, void *arg);
/* Events after `seq` are never pruned, acknowledged or not: the state
 * snapshot at `seq` needs them to be rebuilt. */
void outbox_keep_after(outbox_t *outbox, uint64_t seq);

/* Called for each event read; `data` is valid only during the call. A
 * non-zero return stops the read. */
typedef int (*outbox_read_fn)(uint64_t seq, const uint8_t *data, size_t len, void *arg);
/* Reads events from `from` on, at most `max_events` and about `max_bytes`
 * (at least one event is read). HB_ENOTFOUND when `from` was pruned. */
int outbox_read(outbox_t *outbox, uint64_t from, size_t max_events, size_t max_bytes,
                outbox_read_fn fn, void *arg);

/* Records HQ's cumulative acknowledgement. Lower values than the current one
 * are ignored; a value past last_seq is refused with HB_ERANGE (HQ claims to
 * hold events this hall never wrote). Durable at the next outbox_flush(). */
int outbox_ack(outbox_t *outbox, uint64_t acked_seq);
/* Persists the acknowledged sequence and deletes up to `max` acknowledged
 * events that happened before `cutoff_ms`. `*pruned` (may be NULL) is set to
 * how many were deleted. */
int outbox_flush(outbox_t *outbox, int64_t cutoff_ms, size_t max, size_t *pruned);

/* Whether the outbox has room, as the last appends found it: a disk that
 * filled (during a long outage, say) refuses appends until space returns,
 * and the refusals are counted for the hall's API and for HQ. */
typedef struct outbox_space {
    int64_t full_since_ms;   /* when appends began to be refused; 0: there is room */
    uint64_t refused_events; /* events refused for lack of room since the start */
    int64_t last_refused_ms; /* the last refusal; 0: none */
} outbox_space_t;
void outbox_space(const outbox_t *outbox, outbox_space_t *out);

/* Clears reader slots left by dead processes (e.g. a killed mdb_stat). */
int outbox_reader_check(outbox_t *outbox);

uint64_t outbox_last_seq(const outbox_t *outbox);
uint64_t outbox_acked_seq(const outbox_t *outbox);
/* Oldest sequence still stored (last_seq + 1 when empty). */
uint64_t outbox_first_seq(const outbox_t *outbox);
const hb_digest_t *outbox_digest(const outbox_t *outbox);
/* Bytes used on disk, and how often the map grew. */
uint64_t outbox_disk_bytes(outbox_t *outbox);
uint64_t outbox_map_grows(const outbox_t *outbox);
/* The durations of the appends' synced commits (a map growth and the
 * retry included; failed ones too), in seconds, for /metrics. */
const hb_histogram_t *outbox_commit_histogram(const outbox_t *outbox);

#endif
