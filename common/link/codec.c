/* Events between protobuf, bytes and JSON (see codec.h). The JSON mapping
 * walks protobuf-c's descriptors, so the .proto is the only table of event
 * kinds and fields: nothing here names an event, and a new kind needs no code.
 * This is not where events are given meaning (the reducer) or where HQ's
 * sequence and time rules live (hqd/link/ingest.c).
 *
 * Memory: a message built from JSON is malloc'd piece by piece exactly as
 * protobuf-c's own unpacker lays it out, and one decoded from bytes is
 * allocated by malloc through a budgeted allocator, so both are freed by
 * protobuf_c_message_free_unpacked(msg, NULL). */
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/json.h"
#include "hallbus/time.h"
#include "hallbus/utf8.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODEC_REPEATED_MAX 64 /* elements of one repeated field from JSON */
#define CODEC_DEPTH_MAX 4     /* envelope -> body -> at most two nested levels */
#define CODEC_ENUM_NAME_MAX 96
#define CODEC_BUDGET_SLACK ((size_t)64 << 10)

/* ------------------------------------------------------ bounded unpack ---- */

/* protobuf-c has no allocation cap of its own: a few bytes announcing a huge
 * repeated field or thousands of unknown fields would make it allocate far
 * more than the input. The budget lives on the unpacking call's stack; the
 * memory is plain malloc, so freeing later needs no allocator state. */
typedef struct budget {
    size_t used, limit;
} budget_t;

static void *s_budget_alloc(void *data, size_t size)
{
    budget_t *b = data;
    if (size > b->limit - b->used)
        return NULL;
    b->used += size;
    return malloc(size ? size : 1);
}

static void s_budget_free(void *data, void *ptr)
{
    (void)data;
    free(ptr);
}

static ProtobufCMessage *s_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                  size_t len, size_t max)
{
    if (!data && len)
        return NULL;
    if (len > max)
        return NULL;
    budget_t b = {0, len * 8 + CODEC_BUDGET_SLACK};
    ProtobufCAllocator alloc = {s_budget_alloc, s_budget_free, &b};
    return protobuf_c_message_unpack(desc, &alloc, len, data);
}

Hallbus__Envelope *hb_envelope_unpack(const uint8_t *data, size_t len)
{
    return (Hallbus__Envelope *)s_unpack(&hallbus__envelope__descriptor, data, len, HB_EVENT_MAX);
}

Hallbus__Frame *hb_frame_unpack(const uint8_t *data, size_t len)
{
    return (Hallbus__Frame *)s_unpack(&hallbus__frame__descriptor, data, len, HB_FRAME_MAX);
}

/* The arena's allocator: the budget as above, then the caller's buffer,
 * then malloc for what does not fit. Freeing an arena piece is a no-op:
 * protobuf-c frees a partly decoded message piece by piece on failure. */
typedef struct arena_alloc {
    budget_t b;
    hb_unpack_arena_t *a;
} arena_alloc_t;

#define ARENA_ALIGN 16 /* every member type protobuf-c lays out fits it */

static void *s_arena_alloc(void *data, size_t size)
{
    arena_alloc_t *aa = data;
    if (size > aa->b.limit - aa->b.used)
        return NULL;
    aa->b.used += size;
    hb_unpack_arena_t *a = aa->a;
    size_t need = (size + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (need == 0)
        need = ARENA_ALIGN;
    size_t at = (a->used + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (a->buf && at <= a->cap && need <= a->cap - at) {
        a->used = at + need;
        return a->buf + at;
    }
    a->spills++;
    return malloc(size ? size : 1);
}

static void s_arena_free(void *data, void *ptr)
{
    const hb_unpack_arena_t *a = data;
    const uint8_t *p = ptr;
    /* Ordered comparison of unrelated pointers goes through integers. */
    uintptr_t u = (uintptr_t)p, lo = (uintptr_t)a->buf;
    if (a->buf && u >= lo && u < lo + a->cap)
        return;
    free(ptr);
}

static void s_arena_free_in_unpack(void *data, void *ptr)
{
    s_arena_free(((arena_alloc_t *)data)->a, ptr);
}

static ProtobufCMessage *s_unpack_in(hb_unpack_arena_t *a, const ProtobufCMessageDescriptor *desc,
                                     const uint8_t *data, size_t len, size_t max)
{
    if ((!data && len) || len > max)
        return NULL;
    arena_alloc_t aa = {{0, len * 8 + CODEC_BUDGET_SLACK}, a};
    ProtobufCAllocator alloc = {s_arena_alloc, s_arena_free_in_unpack, &aa};
    return protobuf_c_message_unpack(desc, &alloc, len, data);
}

Hallbus__Envelope *hb_envelope_unpack_in(hb_unpack_arena_t *a, const uint8_t *data, size_t len)
{
    return (Hallbus__Envelope *)s_unpack_in(a, &hallbus__envelope__descriptor, data, len,
                                            HB_EVENT_MAX);
}

Hallbus__Frame *hb_frame_unpack_in(hb_unpack_arena_t *a, const uint8_t *data, size_t len)
{
    return (Hallbus__Frame *)s_unpack_in(a, &hallbus__frame__descriptor, data, len, HB_FRAME_MAX);
}

static void *s_no_alloc(void *data, size_t size)
{
    (void)data;
    (void)size;
    return NULL; /* freeing allocates nothing */
}

void hb_arena_release(hb_unpack_arena_t *a, ProtobufCMessage *msg, hb_arena_mark_t mark)
{
    if (msg && a->spills != mark.spills) {
        /* Some pieces are malloc's: walk the message for them (the
         * allocator skips the arena's). */
        ProtobufCAllocator alloc = {s_no_alloc, s_arena_free, a};
        protobuf_c_message_free_unpacked(msg, &alloc);
    }
    a->used = mark.used;
    a->spills = mark.spills;
}

void hb_envelope_free(Hallbus__Envelope *env)
{
    if (env)
        protobuf_c_message_free_unpacked(&env->base, NULL);
}

void hb_frame_free(Hallbus__Frame *frame)
{
    if (frame)
        protobuf_c_message_free_unpacked(&frame->base, NULL);
}

static int s_pack(const ProtobufCMessage *msg, size_t max, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > max)
        return HB_ETOOBIG;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return HB_ENOMEM;
    size_t written = protobuf_c_message_pack(msg, buf);
    assert(written == n); /* they disagree only on a corrupt message */
    (void)written;
    *out = buf;
    *len = n;
    return 0;
}

int hb_envelope_pack(const Hallbus__Envelope *env, uint8_t **out, size_t *len)
{
    return s_pack(&env->base, HB_EVENT_MAX, out, len);
}

int hb_frame_pack(const Hallbus__Frame *frame, uint8_t **out, size_t *len)
{
    return s_pack(&frame->base, HB_FRAME_MAX, out, len);
}

int hb_batch_pack(ProtobufCBinaryData *events, size_t n, uint8_t **out, size_t *len)
{
    Hallbus__EventBatch b = HALLBUS__EVENT_BATCH__INIT;
    b.n_events = n;
    b.events = events;
    Hallbus__Frame f = HALLBUS__FRAME__INIT;
    f.kind_case = HALLBUS__FRAME__KIND_BATCH;
    f.batch = &b;
    return hb_frame_pack(&f, out, len);
}

/* ----------------------------------------------------------- helpers ---- */

/* Fields whose value is an identifier rather than free text (codec.h). */
static bool s_is_id_field(const char *name)
{
    static const char *const ids[] = {
        "ticket",   "service",      "counter",    "staff",         "complaint", "device",   "by",
        "services", "from_service", "to_service", "business_type", "category",  "currency",
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (strcmp(name, ids[i]) == 0)
            return true;
    return false;
}

/* The rules every string of an event obeys, from JSON or from the wire. */
static int s_check_string(const char *name, const char *kind, const char *s, size_t len, char *err,
                          size_t errlen)
{
    size_t max = s_is_id_field(name) ? HB_ID_MAX : HB_TEXT_MAX;
    if (memchr(s, '\0', len)) {
        hb_errf(err, errlen, "%s of %s contains a NUL character", name, kind);
        return HB_EINVAL;
    }
    if (len > max) {
        hb_errf(err, errlen, "%s of %s is %zu bytes long; at most %zu are allowed", name, kind, len,
                max);
        return HB_EINVAL;
    }
    if (!hb_utf8_valid(s, len)) {
        hb_errf(err, errlen, "%s of %s is not valid UTF-8", name, kind);
        return HB_EINVAL;
    }
    return 0;
}

/* "DeviceState" -> "DEVICE_STATE_", the prefix protoc's style guide gives
 * every value of the enum. */
static void s_enum_prefix(const ProtobufCEnumDescriptor *ed, char *out, size_t outlen)
{
    size_t n = 0;
    const char *s = ed->short_name;
    for (size_t i = 0; s[i] && n + 4 < outlen; i++) {
        if (i > 0 && isupper((unsigned char)s[i]))
            out[n++] = '_';
        out[n++] = (char)toupper((unsigned char)s[i]);
    }
    out[n++] = '_';
    out[n] = '\0';
}

/* The JSON name of an enum value ("elderly" for PRIORITY_ELDERLY); false if
 * the value does not carry the enum's prefix or the name does not fit. */
static bool s_enum_json_name(const ProtobufCEnumDescriptor *ed, const char *value_name, char *out,
                             size_t outlen)
{
    char prefix[CODEC_ENUM_NAME_MAX];
    s_enum_prefix(ed, prefix, sizeof prefix);
    size_t plen = strlen(prefix);
    if (strncmp(value_name, prefix, plen) != 0 || value_name[plen] == '\0')
        return false;
    const char *rest = value_name + plen;
    if (strlen(rest) >= outlen)
        return false;
    size_t n = 0;
    for (const char *p = rest; *p; p++)
        out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
    return true;
}

static size_t s_elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(int64_t);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return sizeof(int32_t);
    }
}

static bool s_is_unsigned(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_FIXED32 ||
           t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64;
}

/* ------------------------------------------------------ JSON -> proto ---- */

static int s_fill_message(ProtobufCMessage *msg, const json_t *obj, const char *kind,
                          const char *skip1, const char *skip2, int depth, char *err,
                          size_t errlen);

static int s_set_integer(void *dst, const ProtobufCFieldDescriptor *fd, const json_t *v,
                         const char *kind, char *err, size_t errlen)
{
    const char *name = fd->name;
    if (!json_is_integer(v)) {
        hb_errf(err, errlen, "%s of %s must be a whole number", name, kind);
        return HB_EINVAL;
    }
    json_int_t x = json_integer_value(v);
    bool is_unsigned = s_is_unsigned(fd->type);
    bool is64 = s_elem_size(fd->type) == 8;
    /* JSON integers beyond INT64_MAX do not reach us: jansson refuses them. */
    long long lo = is_unsigned ? 0 : is64 ? INT64_MIN : INT32_MIN;
    long long hi = is64 ? INT64_MAX : is_unsigned ? (long long)UINT32_MAX : INT32_MAX;
    if (x < 0 && is_unsigned) {
        hb_errf(err, errlen, "%s of %s must not be negative: %lld", name, kind, (long long)x);
        return HB_EINVAL;
    }
    if (x < lo || x > hi) {
        hb_errf(err, errlen, "%s of %s is out of range (%lld to %lld): %lld", name, kind, lo, hi,
                (long long)x);
        return HB_EINVAL;
    }
    if (is64 && is_unsigned)
        *(uint64_t *)dst = (uint64_t)x;
    else if (is64)
        *(int64_t *)dst = (int64_t)x;
    else if (is_unsigned)
        *(uint32_t *)dst = (uint32_t)x;
    else
        *(int32_t *)dst = (int32_t)x;
    return 0;
}

const char *hb_enum_name(const ProtobufCEnumDescriptor *ed, int value, char *out, size_t outlen)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, value);
    if (!ev || !s_enum_json_name(ed, ev->name, out, outlen))
        return NULL;
    return out;
}

int hb_enum_parse(const ProtobufCEnumDescriptor *ed, const char *name, int *value, char *err,
                  size_t errlen)
{
    char jname[CODEC_ENUM_NAME_MAX], list[512];
    size_t used = 0;
    list[0] = '\0';
    for (unsigned i = 0; i < ed->n_values; i++) {
        if (ed->values[i].value == 0)
            continue; /* *_UNSPECIFIED is "not given", never a valid choice */
        if (!s_enum_json_name(ed, ed->values[i].name, jname, sizeof jname))
            continue;
        if (strcmp(jname, name) == 0) {
            *value = ed->values[i].value;
            return 0;
        }
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", jname);
        if (w > 0 && (size_t)w < sizeof list - used)
            used += (size_t)w;
    }
    hb_errf(err, errlen, "'%.64s' is not one of %s", name, list);
    return HB_EINVAL;
}

static int s_set_enum(void *dst, const ProtobufCFieldDescriptor *fd, const json_t *v,
                      const char *kind, char *err, size_t errlen)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        hb_errf(err, errlen, "%s of %s must be a string naming a value", fd->name, kind);
        return HB_EINVAL;
    }
    char why[600];
    int value;
    if (hb_enum_parse(fd->descriptor, json_string_value(v), &value, why, sizeof why) != 0) {
        hb_errf(err, errlen, "%s: %s", fd->name, why);
        return HB_EINVAL;
    }
    *(int *)dst = value;
    return 0;
}

/* Parses one JSON value into the storage at `dst` for field `fd`. */
static int s_set_value(void *dst, const ProtobufCFieldDescriptor *fd, const json_t *v,
                       const char *kind, int depth, char *err, size_t errlen)
{
    const char *name = fd->name;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return s_set_integer(dst, fd, v, kind, err, errlen);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v)) {
            hb_errf(err, errlen, "%s of %s must be a number", name, kind);
            return HB_EINVAL;
        }
        if (fd->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)dst = (float)json_number_value(v);
        else
            *(double *)dst = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) {
            hb_errf(err, errlen, "%s of %s must be true or false", name, kind);
            return HB_EINVAL;
        }
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: return s_set_enum(dst, fd, v, kind, err, errlen);
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v)) {
            hb_errf(err, errlen, "%s of %s must be a string", name, kind);
            return HB_EINVAL;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        int rc = s_check_string(name, kind, s, len, err, errlen);
        if (rc != 0)
            return rc;
        char *copy = malloc(len + 1);
        if (!copy)
            return HB_ENOMEM;
        memcpy(copy, s, len + 1);
        *(char **)dst = copy;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *md = fd->descriptor;
        if (!json_is_object(v)) {
            hb_errf(err, errlen, "%s of %s must be an object", name, kind);
            return HB_EINVAL;
        }
        if (depth >= CODEC_DEPTH_MAX) {
            hb_errf(err, errlen, "%s of %s is nested too deeply", name, kind);
            return HB_EINVAL;
        }
        ProtobufCMessage *sub = malloc(md->sizeof_message);
        if (!sub)
            return HB_ENOMEM;
        md->message_init(sub);
        *(ProtobufCMessage **)dst = sub; /* owned by the parent from here on */
        return s_fill_message(sub, v, name, NULL, NULL, depth + 1, err, errlen);
    }
    case PROTOBUF_C_TYPE_BYTES:
    default: hb_errf(err, errlen, "%s of %s cannot be given in JSON", name, kind); return HB_EINVAL;
    }
}

static int s_set_repeated(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd,
                          const json_t *v, const char *kind, int depth, char *err, size_t errlen)
{
    char *base = (char *)msg;
    if (!json_is_array(v)) {
        hb_errf(err, errlen, "%s of %s must be an array", fd->name, kind);
        return HB_EINVAL;
    }
    size_t n = json_array_size(v);
    if (n > CODEC_REPEATED_MAX) {
        hb_errf(err, errlen, "%s of %s has %zu elements; at most %d are allowed", fd->name, kind, n,
                CODEC_REPEATED_MAX);
        return HB_EINVAL;
    }
    if (n == 0)
        return 0;
    size_t esz = s_elem_size(fd->type);
    char *arr = calloc(n, esz);
    if (!arr)
        return HB_ENOMEM;
    /* Publish the array before filling it so that a failure half-way is
     * freed by free_unpacked: the count covers exactly the filled elements
     * (a pointer element that got allocated counts even if its fill failed). */
    *(char **)(base + fd->offset) = arr;
    size_t *count = (size_t *)(base + fd->quantifier_offset);
    for (size_t i = 0; i < n; i++) {
        void *slot = arr + i * esz;
        int rc = s_set_value(slot, fd, json_array_get(v, i), kind, depth, err, errlen);
        bool allocated =
            (fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_MESSAGE) &&
            *(void **)slot != NULL;
        if (rc == 0 || allocated)
            *count = i + 1;
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int s_set_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd, const json_t *v,
                       const char *kind, int depth, char *err, size_t errlen)
{
    char *base = (char *)msg;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED)
        return s_set_repeated(msg, fd, v, kind, depth, err, errlen);
    if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        /* Two members of one oneof: refuse rather than leak the first. */
        uint32_t *chosen = (uint32_t *)(base + fd->quantifier_offset);
        if (*chosen != 0 && *chosen != fd->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field(msg->descriptor, *chosen);
            hb_errf(err, errlen, "%s and %s of %s are alternatives; give only one", fd->name,
                    other ? other->name : "another field", kind);
            return HB_EINVAL;
        }
        *chosen = fd->id;
    } else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
               fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE) {
        *(protobuf_c_boolean *)(base + fd->quantifier_offset) = 1;
    }
    return s_set_value(base + fd->offset, fd, v, kind, depth, err, errlen);
}

static int s_fill_message(ProtobufCMessage *msg, const json_t *obj, const char *kind,
                          const char *skip1, const char *skip2, int depth, char *err, size_t errlen)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        if ((skip1 && strcmp(key, skip1) == 0) || (skip2 && strcmp(key, skip2) == 0))
            continue;
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field_by_name(md, key);
        if (!fd) {
            hb_errf(err, errlen, "unknown field '%.64s' for %s", key, kind);
            return HB_EINVAL;
        }
        if (json_is_null(v))
            continue; /* the same as absent: the field keeps its default */
        int rc = s_set_field(msg, fd, v, kind, depth, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The Envelope.body field named `type`, or NULL. */
static const ProtobufCFieldDescriptor *s_body_field(const char *type)
{
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name(&hallbus__envelope__descriptor, type);
    if (!fd || !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || fd->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    return fd;
}

int hb_event_from_json(const json_t *obj, int64_t now_ms, int64_t max_future_ms,
                       Hallbus__Envelope **out, char *err, size_t errlen)
{
    if (!out)
        return HB_EINVAL;
    *out = NULL;
    if (!json_is_object(obj)) {
        hb_errf(err, errlen, "an event must be a JSON object");
        return HB_EINVAL;
    }
    const json_t *jt = json_object_get(obj, "type");
    if (!jt) {
        hb_errf(err, errlen, "the event has no \"type\" (e.g. \"type\": \"ticket_issued\")");
        return HB_EINVAL;
    }
    if (!json_is_string(jt)) {
        hb_errf(err, errlen, "\"type\" must be a string naming the event kind");
        return HB_EINVAL;
    }
    const char *type = json_string_value(jt);
    const ProtobufCFieldDescriptor *bfd =
        strlen(type) == json_string_length(jt) ? s_body_field(type) : NULL;
    if (!bfd) {
        hb_errf(err, errlen, "unknown type '%.64s': not an event kind of this build", type);
        return HB_EINVAL;
    }
    if (json_object_get(obj, "seq")) {
        hb_errf(err, errlen, "\"seq\" may not be given: the hall numbers its events itself");
        return HB_EINVAL;
    }
    int64_t at = now_ms;
    const json_t *jat = json_object_get(obj, "at");
    if (jat && !json_is_null(jat)) {
        if (!json_is_string(jat) || hb_time_parse(json_string_value(jat), &at) != 0) {
            hb_errf(err, errlen, "\"at\" must be an RFC 3339 time such as 2026-11-23T09:30:00Z");
            return HB_EPARSE;
        }
        if (max_future_ms < 0)
            max_future_ms = 0;
        int64_t limit = now_ms > INT64_MAX - max_future_ms ? INT64_MAX : now_ms + max_future_ms;
        if (at > limit) {
            hb_errf(err, errlen,
                    "\"at\" is %lld s ahead of the hall's clock; at most %lld s are allowed",
                    (long long)((at - now_ms) / 1000), (long long)(max_future_ms / 1000));
            return HB_EINVAL;
        }
    }
    Hallbus__Envelope *env = malloc(sizeof *env);
    if (!env)
        return HB_ENOMEM;
    hallbus__envelope__init(env);
    env->at_ms = at;
    const ProtobufCMessageDescriptor *md = bfd->descriptor;
    ProtobufCMessage *body = malloc(md->sizeof_message);
    if (!body) {
        free(env);
        return HB_ENOMEM;
    }
    md->message_init(body);
    *(uint32_t *)((char *)env + bfd->quantifier_offset) = bfd->id;
    *(ProtobufCMessage **)((char *)env + bfd->offset) = body;
    int rc = s_fill_message(body, obj, type, "type", "at", 1, err, errlen);
    if (rc != 0) {
        hb_envelope_free(env);
        return rc;
    }
    *out = env;
    return 0;
}

/* --------------------------------------------- checks of decoded bytes ---- */

static int s_check_message(const ProtobufCMessage *msg, const char *kind, int depth, char *err,
                           size_t errlen);

static int s_check_value(const ProtobufCFieldDescriptor *fd, const void *p, const char *kind,
                         int depth, char *err, size_t errlen)
{
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)p;
        return s ? s_check_string(fd->name, kind, s, strlen(s), err, errlen) : 0;
    }
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (!sub)
            return 0;
        if (depth >= CODEC_DEPTH_MAX) {
            hb_errf(err, errlen, "%s of %s is nested too deeply", fd->name, kind);
            return HB_EINVAL;
        }
        return s_check_message(sub, fd->name, depth + 1, err, errlen);
    }
    return 0;
}

static int s_check_message(const ProtobufCMessage *msg, const char *kind, int depth, char *err,
                           size_t errlen)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    const char *base = (const char *)msg;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &md->fields[i];
        if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
            continue;
        if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
            int rc = s_check_value(fd, base + fd->offset, kind, depth, err, errlen);
            if (rc != 0)
                return rc;
            continue;
        }
        size_t n = *(const size_t *)(base + fd->quantifier_offset);
        const char *arr = *(char *const *)(base + fd->offset);
        if (n > CODEC_REPEATED_MAX) {
            hb_errf(err, errlen, "%s of %s has %zu elements; at most %d are allowed", fd->name,
                    kind, n, CODEC_REPEATED_MAX);
            return HB_EINVAL;
        }
        for (size_t k = 0; k < n && arr; k++) {
            int rc = s_check_value(fd, arr + k * s_elem_size(fd->type), kind, depth, err, errlen);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int hb_event_check(const Hallbus__Envelope *env, char *err, size_t errlen)
{
    if (env->body_case == HALLBUS__ENVELOPE__BODY__NOT_SET)
        return 0; /* a kind from a newer hall: stored as it came */
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(&hallbus__envelope__descriptor, env->body_case);
    if (!fd)
        return 0;
    const ProtobufCMessage *body = *(ProtobufCMessage *const *)((const char *)env + fd->offset);
    return body ? s_check_message(body, fd->name, 1, err, errlen) : 0;
}

/* ------------------------------------------------------ proto -> JSON ---- */

static int s_message_to_json(const ProtobufCMessage *msg, int depth, json_t *o);

static json_t *s_value_to_json(const ProtobufCFieldDescriptor *fd, const void *p, int depth)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: return json_integer((json_int_t) * (const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return hb_json_u64(*(const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        double d = fd->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)p : *(const double *)p;
        return isfinite(d) ? json_real(d) : json_null(); /* JSON has no NaN */
    }
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int value = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, value);
        char jname[CODEC_ENUM_NAME_MAX];
        if (ev && s_enum_json_name(fd->descriptor, ev->name, jname, sizeof jname))
            return json_string(jname);
        return json_integer(value); /* a newer hall's value: kept as a number */
    }
    case PROTOBUF_C_TYPE_STRING:
        /* A string from the wire that is not UTF-8 is shown with '?' for
         * each bad byte rather than dropped, so the event stays readable. */
        return hb_utf8_json_str(*(char *const *)p);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (!sub || depth >= CODEC_DEPTH_MAX)
            return json_null();
        json_t *o = json_object();
        if (o && s_message_to_json(sub, depth + 1, o) != 0) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    case PROTOBUF_C_TYPE_BYTES:
    default: {
        /* No event carries bytes; were one to, its length is what a person
         * reading the JSON can use. */
        const ProtobufCBinaryData *b = p;
        return json_integer((json_int_t)b->len);
    }
    }
}

/* Adds every field of `msg` to `o`; -1 on allocation failure. */
static int s_message_to_json(const ProtobufCMessage *msg, int depth, json_t *o)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    const char *base = (const char *)msg;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &md->fields[i];
        json_t *v;
        if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
            continue; /* not the chosen member */
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            const char *arr = *(char *const *)(base + fd->offset);
            v = json_array();
            for (size_t k = 0; v && k < n && arr; k++) {
                if (json_array_append_new(
                        v, s_value_to_json(fd, arr + k * s_elem_size(fd->type), depth)) != 0) {
                    json_decref(v);
                    v = NULL;
                }
            }
        } else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
                   !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                   fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE &&
                   !*(const protobuf_c_boolean *)(base + fd->quantifier_offset)) {
            continue; /* proto3 "optional" that was not given */
        } else {
            v = s_value_to_json(fd, base + fd->offset, depth);
        }
        if (json_object_set_new(o, fd->name, v) != 0)
            return -1;
    }
    return 0;
}

const char *hb_event_type_name(const Hallbus__Envelope *env)
{
    if (env->body_case == HALLBUS__ENVELOPE__BODY__NOT_SET)
        return "unknown";
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(&hallbus__envelope__descriptor, env->body_case);
    return fd ? fd->name : "unknown";
}

json_t *hb_event_to_json(const Hallbus__Envelope *env)
{
    char at[HB_RFC3339_MAX];
    hb_time_format(env->at_ms, at);
    const ProtobufCFieldDescriptor *fd = env->body_case == HALLBUS__ENVELOPE__BODY__NOT_SET
                                             ? NULL
                                             : protobuf_c_message_descriptor_get_field(
                                                   &hallbus__envelope__descriptor, env->body_case);
    const ProtobufCMessage *body =
        fd ? *(ProtobufCMessage *const *)((const char *)env + fd->offset) : NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    /* "seq", "at", "type" first (jansson keeps insertion order), then the
     * body's fields; no event message may use those three names. */
    int rc = json_object_set_new(o, "seq", hb_json_u64(env->seq));
    rc |= json_object_set_new(o, "at", json_string(at));
    rc |= json_object_set_new(o, "type", json_string(body ? fd->name : "unknown"));
    if (body)
        rc |= s_message_to_json(body, 1, o);
    else
        rc |= json_object_set_new(o, "unknown_fields",
                                  json_integer((json_int_t)env->base.n_unknown_fields));
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
