/* Events between protobuf, bytes and JSON (see codec.h). The JSON mapping
 * walks protobuf-c's descriptors, so the .proto is the only table of event
 * kinds and fields; nothing here names an event. Messages built from JSON are
 * allocated with malloc piece by piece exactly as protobuf-c's own unpacker
 * would, so protobuf_c_message_free_unpacked(msg, NULL) frees them. */
#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/time.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODEC_FRAME_MAX (64u << 20) /* nothing legitimate comes near this */
#define CODEC_REPEATED_MAX 64
#define CODEC_DEPTH_MAX 4

/* ------------------------------------------------------ bounded unpack ---- */

typedef struct budget {
    size_t used, limit;
} budget_t;

static void *s_budget_alloc(void *data, size_t size)
{
    budget_t *b = data;
    if (size > b->limit - b->used)
        return NULL;
    b->used += size;
    return malloc(size);
}

static void s_budget_free(void *data, void *ptr)
{
    (void)data;
    free(ptr);
}

/* Unpacks with an allocator that fails past a budget; the result is freed
 * with the default allocator (malloc/free), which is what the budget used. */
static ProtobufCMessage *s_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                                  size_t len, size_t max)
{
    if (!data && len)
        return NULL;
    if (len > max)
        return NULL;
    budget_t b = {0, len * 8 + (64u << 10)};
    ProtobufCAllocator alloc = {s_budget_alloc, s_budget_free, &b};
    return protobuf_c_message_unpack(desc, &alloc, len, data);
}

Hallbus__Envelope *hb_envelope_unpack(const uint8_t *data, size_t len)
{
    return (Hallbus__Envelope *)s_unpack(&hallbus__envelope__descriptor, data, len, HB_EVENT_MAX);
}

Hallbus__Frame *hb_frame_unpack(const uint8_t *data, size_t len)
{
    return (Hallbus__Frame *)s_unpack(&hallbus__frame__descriptor, data, len, CODEC_FRAME_MAX);
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
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > max)
        return HB_ETOOBIG;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return HB_ENOMEM;
    protobuf_c_message_pack(msg, buf);
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
    return s_pack(&frame->base, CODEC_FRAME_MAX, out, len);
}

/* ----------------------------------------------------------- helpers ---- */

static void s_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Fields whose value is an identifier rather than free text. */
static bool s_is_id_field(const char *name)
{
    static const char *const ids[] = {
        "ticket", "service", "counter", "staff", "complaint", "device", "by",
        "from_service", "to_service", "business_type", "category", "currency", "services",
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (strcmp(name, ids[i]) == 0)
            return true;
    return false;
}

/* "DeviceState" -> "DEVICE_STATE_" */
static void s_enum_prefix(const ProtobufCEnumDescriptor *ed, char *out, size_t outlen)
{
    size_t n = 0;
    const char *s = ed->short_name;
    for (size_t i = 0; s[i] && n + 3 < outlen; i++) {
        if (i > 0 && isupper((unsigned char)s[i]))
            out[n++] = '_';
        out[n++] = (char)toupper((unsigned char)s[i]);
    }
    out[n++] = '_';
    out[n] = '\0';
}

/* The JSON name of an enum value ("elderly"), into out; false if the value
 * does not carry the expected prefix. */
static bool s_enum_json_name(const ProtobufCEnumDescriptor *ed, const char *value_name, char *out,
                             size_t outlen)
{
    char prefix[96];
    s_enum_prefix(ed, prefix, sizeof prefix);
    size_t plen = strlen(prefix);
    if (strncmp(value_name, prefix, plen) != 0)
        return false;
    size_t n = 0;
    for (const char *p = value_name + plen; *p && n + 1 < outlen; p++)
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
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

/* ------------------------------------------------------ JSON -> proto ---- */

static int s_fill_message(ProtobufCMessage *msg, const json_t *obj, const char *kind,
                          const char *skip1, const char *skip2, int depth, char *err,
                          size_t errlen);

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
    case PROTOBUF_C_TYPE_FIXED64: {
        if (!json_is_integer(v)) {
            s_err(err, errlen, "%s of %s must be a whole number", name, kind);
            return HB_EINVAL;
        }
        json_int_t x = json_integer_value(v);
        bool is_unsigned = fd->type == PROTOBUF_C_TYPE_UINT32 ||
                           fd->type == PROTOBUF_C_TYPE_FIXED32 ||
                           fd->type == PROTOBUF_C_TYPE_UINT64 || fd->type == PROTOBUF_C_TYPE_FIXED64;
        bool is64 = s_elem_size(fd->type) == 8;
        long long lo = is_unsigned ? 0 : is64 ? INT64_MIN : INT32_MIN;
        long long hi = is64 ? INT64_MAX : is_unsigned ? (long long)UINT32_MAX : INT32_MAX;
        if (x < lo || x > hi) {
            s_err(err, errlen, "%s of %s is out of range (%lld to %lld): %lld", name, kind, lo, hi,
                  (long long)x);
            return HB_ERANGE;
        }
        if (is64)
            *(int64_t *)dst = (int64_t)x;
        else if (is_unsigned)
            *(uint32_t *)dst = (uint32_t)x;
        else
            *(int32_t *)dst = (int32_t)x;
        return 0;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v)) {
            s_err(err, errlen, "%s of %s must be a number", name, kind);
            return HB_EINVAL;
        }
        if (fd->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)dst = (float)json_number_value(v);
        else
            *(double *)dst = json_number_value(v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) {
            s_err(err, errlen, "%s of %s must be true or false", name, kind);
            return HB_EINVAL;
        }
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = fd->descriptor;
        if (!json_is_string(v)) {
            s_err(err, errlen, "%s of %s must be a string naming a value", name, kind);
            return HB_EINVAL;
        }
        const char *want = json_string_value(v);
        char jname[64], list[512];
        size_t used = 0;
        list[0] = '\0';
        for (unsigned i = 0; i < ed->n_values; i++) {
            if (ed->values[i].value == 0)
                continue; /* *_UNSPECIFIED is never a valid choice */
            if (!s_enum_json_name(ed, ed->values[i].name, jname, sizeof jname))
                continue;
            if (strcmp(jname, want) == 0) {
                *(int *)dst = ed->values[i].value;
                return 0;
            }
            int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", jname);
            if (w > 0 && (size_t)w < sizeof list - used)
                used += (size_t)w;
        }
        s_err(err, errlen, "%s: '%.64s' is not one of %s", name, want, list);
        return HB_EINVAL;
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!json_is_string(v)) {
            s_err(err, errlen, "%s of %s must be a string", name, kind);
            return HB_EINVAL;
        }
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        size_t max = s_is_id_field(name) ? HB_ID_MAX : HB_TEXT_MAX;
        if (strlen(s) != len) {
            s_err(err, errlen, "%s of %s contains a NUL character", name, kind);
            return HB_EINVAL;
        }
        if (len > max) {
            s_err(err, errlen, "%s of %s is %zu bytes long; at most %zu are allowed", name, kind,
                  len, max);
            return HB_ETOOBIG;
        }
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
            s_err(err, errlen, "%s of %s must be an object", name, kind);
            return HB_EINVAL;
        }
        if (depth >= CODEC_DEPTH_MAX) {
            s_err(err, errlen, "%s of %s is nested too deeply", name, kind);
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
    default:
        s_err(err, errlen, "%s of %s cannot be given in JSON", name, kind);
        return HB_EINVAL;
    }
}

static int s_set_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *fd, const json_t *v,
                       const char *kind, int depth, char *err, size_t errlen)
{
    char *base = (char *)msg;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        if (!json_is_array(v)) {
            s_err(err, errlen, "%s of %s must be an array", fd->name, kind);
            return HB_EINVAL;
        }
        size_t n = json_array_size(v);
        if (n > CODEC_REPEATED_MAX) {
            s_err(err, errlen, "%s of %s has %zu elements; at most %d are allowed", fd->name,
                  kind, n, CODEC_REPEATED_MAX);
            return HB_ETOOBIG;
        }
        if (n == 0)
            return 0;
        size_t esz = s_elem_size(fd->type);
        char *arr = calloc(n, esz);
        if (!arr)
            return HB_ENOMEM;
        /* Publish the array before filling it so that a failure half-way is
         * freed by free_unpacked (unfilled pointers are NULL and skipped). */
        *(char **)(base + fd->offset) = arr;
        size_t *count = (size_t *)(base + fd->quantifier_offset);
        for (size_t i = 0; i < n; i++) {
            *count = i + 1;
            int rc = s_set_value(arr + i * esz, fd, json_array_get(v, i), kind, depth, err, errlen);
            if (rc != 0) {
                if (fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_MESSAGE)
                    *count = *(void **)(arr + i * esz) ? i + 1 : i;
                else
                    *count = i;
                return rc;
            }
        }
        return 0;
    }
    if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
        fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + fd->quantifier_offset) = 1;
    return s_set_value(base + fd->offset, fd, v, kind, depth, err, errlen);
}

static int s_fill_message(ProtobufCMessage *msg, const json_t *obj, const char *kind,
                          const char *skip1, const char *skip2, int depth, char *err,
                          size_t errlen)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if ((skip1 && strcmp(key, skip1) == 0) || (skip2 && strcmp(key, skip2) == 0))
            continue;
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(md, key);
        if (!fd) {
            s_err(err, errlen, "unknown field '%.64s' for %s", key, kind);
            return HB_EINVAL;
        }
        if (json_is_null(v))
            continue; /* same as absent */
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
    *out = NULL;
    if (!json_is_object(obj)) {
        s_err(err, errlen, "an event must be a JSON object");
        return HB_EINVAL;
    }
    const json_t *jt = json_object_get(obj, "type");
    if (!jt) {
        s_err(err, errlen, "the event has no \"type\"");
        return HB_EINVAL;
    }
    if (!json_is_string(jt)) {
        s_err(err, errlen, "\"type\" must be a string naming the event kind");
        return HB_EINVAL;
    }
    const char *type = json_string_value(jt);
    const ProtobufCFieldDescriptor *bfd = s_body_field(type);
    if (!bfd) {
        s_err(err, errlen, "unknown type '%.64s'", type);
        return HB_EINVAL;
    }
    if (json_object_get(obj, "seq")) {
        s_err(err, errlen, "\"seq\" may not be given: the hall numbers its events");
        return HB_EINVAL;
    }
    int64_t at = now_ms;
    const json_t *jat = json_object_get(obj, "at");
    if (jat && !json_is_null(jat)) {
        if (!json_is_string(jat) || hb_time_parse(json_string_value(jat), &at) != 0) {
            s_err(err, errlen, "\"at\" must be an RFC 3339 time such as 2026-11-23T09:30:00Z");
            return HB_EPARSE;
        }
        if (at > now_ms + max_future_ms) {
            s_err(err, errlen, "\"at\" is %lld s ahead of the hall's clock; at most %lld s allowed",
                  (long long)((at - now_ms) / 1000), (long long)(max_future_ms / 1000));
            return HB_ERANGE;
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

/* ------------------------------------------------------ proto -> JSON ---- */

static json_t *s_message_to_json(const ProtobufCMessage *msg, int depth);

static json_t *s_value_to_json(const ProtobufCFieldDescriptor *fd, const void *p, int depth)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_integer((json_int_t) * (const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
        uint64_t u = *(const uint64_t *)p;
        return u > (uint64_t)INT64_MAX ? json_real((double)u) : json_integer((json_int_t)u);
    }
    case PROTOBUF_C_TYPE_FLOAT:
        return json_real(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_real(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int value = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, value);
        char jname[64];
        if (ev && s_enum_json_name(fd->descriptor, ev->name, jname, sizeof jname))
            return json_string(jname);
        return json_integer(value); /* a newer hall's value: kept as a number */
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        json_t *j = json_string(s ? s : "");
        /* A newer or broken peer's invalid UTF-8 is shown, not dropped. */
        return j ? j : json_string("\xef\xbf\xbd");
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        return sub && depth < CODEC_DEPTH_MAX ? s_message_to_json(sub, depth + 1) : json_null();
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        return json_integer((json_int_t)b->len);
    }
    }
    return json_null();
}

static json_t *s_message_to_json(const ProtobufCMessage *msg, int depth)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    json_t *o = json_object();
    if (!o)
        return NULL;
    const char *base = (const char *)msg;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &md->fields[i];
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            continue; /* oneofs are handled by the caller (the envelope's body) */
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            const char *arr = *(char *const *)(base + fd->offset);
            json_t *a = json_array();
            for (size_t k = 0; k < n && arr; k++)
                json_array_append_new(a, s_value_to_json(fd, arr + k * s_elem_size(fd->type), depth));
            json_object_set_new(o, fd->name, a);
            continue;
        }
        if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset &&
            fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE &&
            !*(const protobuf_c_boolean *)(base + fd->quantifier_offset))
            continue;
        json_object_set_new(o, fd->name, s_value_to_json(fd, base + fd->offset, depth));
    }
    return o;
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
    const ProtobufCFieldDescriptor *fd =
        env->body_case == HALLBUS__ENVELOPE__BODY__NOT_SET
            ? NULL
            : protobuf_c_message_descriptor_get_field(&hallbus__envelope__descriptor,
                                                      env->body_case);
    const ProtobufCMessage *body = fd ? *(ProtobufCMessage *const *)((const char *)env + fd->offset)
                                      : NULL;
    json_t *o = body ? s_message_to_json(body, 1) : json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "seq", json_integer((json_int_t)env->seq));
    json_object_set_new(o, "at", json_string(at));
    json_object_set_new(o, "type", json_string(body ? fd->name : "unknown"));
    if (!body)
        json_object_set_new(o, "unknown_fields", json_integer((json_int_t)env->base.n_unknown_fields));
    return o;
}
