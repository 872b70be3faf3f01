/* Events between their three forms: the protobuf Envelope (hallbus.pb-c.h),
 * its encoded bytes (what outbox and HQ store, and what the digest chains),
 * and the JSON of the local and HQ APIs.
 *
 * The JSON mapping is generic, driven by protobuf-c's descriptors: "type" is
 * the name of the Envelope.body field ("ticket_issued"), the other members
 * are that message's fields by their .proto names, enums are written in lower
 * case without their type prefix ("elderly" for PRIORITY_ELDERLY), and "at"
 * is RFC 3339. Adding an event kind to the .proto is all it takes to accept it.
 *
 * Decoding of untrusted bytes is bounded: a size limit before unpacking and an
 * allocator that refuses to go past a fixed budget per message. */
#ifndef HALLBUS_CODEC_H
#define HALLBUS_CODEC_H

#include "hallbus.pb-c.h"
#include "hallbus/ids.h" /* HB_ID_MAX */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_TEXT_MAX 1024        /* free texts */
#define HB_EVENT_MAX 8192       /* one encoded envelope */
#define HB_FRAME_MAX (1u << 20) /* one encoded link frame: hb_frame_unpack/pack refuse more */

/* JSON -> Envelope. `now_ms` is used when "at" is absent. Refuses (HB_EPARSE
 * or HB_EINVAL, with `err` naming the member and what is wrong): a missing or
 * unknown "type", unknown members, wrong JSON types, enum names that do not
 * exist, integers out of the field's range, strings over HB_ID_MAX (fields
 * named like identifiers) or HB_TEXT_MAX, "at" not RFC 3339 or more than
 * `max_future_ms` after `now_ms`, strings that are not UTF-8 or hold a NUL,
 * a "seq" member (the hall numbers events), "unspecified" enum values.
 * HB_EPARSE is for an unreadable "at", HB_ENOMEM for memory; everything else
 * refused is HB_EINVAL. The envelope's seq is left 0.
 * On success `*out` is owned by the caller: hb_envelope_free(). */
int hb_event_from_json(const json_t *obj, int64_t now_ms, int64_t max_future_ms,
                       Hallbus__Envelope **out, char *err, size_t errlen);
/* Envelope -> JSON {"seq", "at", "type", ...fields}. Every field of the body
 * is written, defaults included; enums by their JSON names, an enum number
 * this build does not know as an integer. A uint64 above INT64_MAX (which a
 * JSON integer here cannot carry) is written as a decimal string. Events of
 * a kind this build does not know come out as {"seq", "at", "type":
 * "unknown", "unknown_fields": N}. Returns a new reference, or NULL on
 * allocation failure. */
json_t *hb_event_to_json(const Hallbus__Envelope *env);
/* The JSON name of an envelope's kind ("ticket_issued"), or "unknown". */
const char *hb_event_type_name(const Hallbus__Envelope *env);

/* Enum values by their JSON names ("elderly" for PRIORITY_ELDERLY), for the
 * APIs that take or show an enum outside an event. hb_enum_name writes the
 * name of `value` into `out` and returns `out`, or returns NULL for a value
 * the enum does not have (or a name that does not fit). hb_enum_parse sets
 * `*value` and returns 0, or returns HB_EINVAL for a name that is not one of
 * the enum's values; "unspecified" is never accepted. With `err`, the
 * refusal names the accepted values. */
const char *hb_enum_name(const ProtobufCEnumDescriptor *ed, int value, char *out, size_t outlen);
int hb_enum_parse(const ProtobufCEnumDescriptor *ed, const char *name, int *value, char *err,
                  size_t errlen);

/* Checks a decoded envelope's known fields against the limits JSON input
 * obeys (string lengths, UTF-8, repeated counts, nesting), for a receiver
 * that wants to refuse what no conforming hall sends. An event kind this
 * build does not know passes. Returns 0, or HB_EINVAL with `err` naming the
 * field. */
int hb_event_check(const Hallbus__Envelope *env, char *err, size_t errlen);

/* Decodes untrusted bytes with a bounded allocator (at most `len` * 8 +
 * 64 KiB of memory); returns NULL when they do not decode or are longer than
 * HB_EVENT_MAX (envelope) / HB_FRAME_MAX (frame). */
Hallbus__Envelope *hb_envelope_unpack(const uint8_t *data, size_t len);
Hallbus__Frame *hb_frame_unpack(const uint8_t *data, size_t len);
void hb_envelope_free(Hallbus__Envelope *env);
void hb_frame_free(Hallbus__Frame *frame);

/* Scratch memory for decoding on a hot path (HQ's ingest and mirror): the
 * pieces of a decoded message are carved from the caller's buffer instead
 * of one malloc each, and releasing the message is rewinding to a mark
 * instead of a free per piece. A message that does not fit takes what is
 * missing from malloc (counted in `spills`), so any size still decodes,
 * under the same budget as hb_envelope_unpack. One arena per thread; the
 * buffer stays the caller's. */
typedef struct hb_unpack_arena {
    uint8_t *buf;
    size_t cap, used;
    uint64_t spills;
} hb_unpack_arena_t;

typedef struct hb_arena_mark {
    size_t used;
    uint64_t spills;
} hb_arena_mark_t;

static inline hb_arena_mark_t hb_arena_mark(const hb_unpack_arena_t *a)
{
    return (hb_arena_mark_t){a->used, a->spills};
}
/* As hb_envelope_unpack / hb_frame_unpack, into `a`; the message lives
 * until hb_arena_release of a mark taken before it. */
Hallbus__Envelope *hb_envelope_unpack_in(hb_unpack_arena_t *a, const uint8_t *data, size_t len);
Hallbus__Frame *hb_frame_unpack_in(hb_unpack_arena_t *a, const uint8_t *data, size_t len);
/* Frees `msg` (may be NULL: a failed unpack frees its own pieces), decoded
 * in `a` after `mark`, and everything else decoded there since: the arena
 * goes back to `mark`, and only pieces that spilled to malloc are freed one
 * by one. Release nested messages innermost first. */
void hb_arena_release(hb_unpack_arena_t *a, ProtobufCMessage *msg, hb_arena_mark_t mark);

/* Encodes into a malloc'd buffer; returns 0 or HB_ENOMEM / HB_ETOOBIG. */
int hb_envelope_pack(const Hallbus__Envelope *env, uint8_t **out, size_t *len);
int hb_frame_pack(const Hallbus__Frame *frame, uint8_t **out, size_t *len);
/* A batch frame of `n` packed envelopes (`events` stays the caller's),
 * encoded as hb_frame_pack does. */
int hb_batch_pack(ProtobufCBinaryData *events, size_t n, uint8_t **out, size_t *len);

#endif
