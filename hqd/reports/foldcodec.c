/* The fold's state as bytes and back (fold.h: ru_fold_encode and
 * ru_fold_decode), which the rollup thread saves with each hall's cells:
 * a version byte, then varints and strings, interned ids as index + 1.
 * Decoding is strict (every bound checked, nothing left over) and rebuilds
 * the fold's maps as it goes; what an event does to the state is fold.c's. */
#include "fold_int.h"

#include "hallbus/error.h"

#include <stdlib.h>
#include <string.h>

#define FOLD_VERSION 1

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool bad;
} wbuf_t;

static void s_w(wbuf_t *w, const void *data, size_t n)
{
    if (w->bad)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->bad = true;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, data, n);
    w->len += n;
}

static void s_wv(wbuf_t *w, uint64_t v)
{
    uint8_t b[10];
    s_w(w, b, ru_varint_put(b, v));
}

static void s_ws(wbuf_t *w, const char *s)
{
    size_t n = strlen(s);
    s_wv(w, n);
    s_w(w, s, n);
}

static void s_wi(wbuf_t *w, int64_t v) { s_wv(w, ru_zigzag(v)); }
/* Interned indexes as index + 1, 0 for none. */
static void s_wx(wbuf_t *w, uint32_t i) { s_wv(w, i == NONE ? 0 : (uint64_t)i + 1); }

/* ----------------------------------------------------- the records ---- */

/* How one field of a record is written: a string, an interned index, an
 * unsigned varint or a zigzag varint, of a member `size` bytes wide. The
 * tables below are the format: encoding and decoding both walk them, so
 * the two cannot drift apart. */
typedef enum { F_STR, F_IDX, F_UV, F_ZZ } fkind_t;

typedef struct field {
    fkind_t kind;
    size_t off, size;
} field_t;

/* A number member must be 1, 4 or 8 bytes wide (s_load, s_store): another
 * width does not compile (an array of -1 chars). */
#define FIELD_WIDTH(kind, size)                                                                    \
    ((size) +                                                                                      \
     0 * sizeof(char[(kind) == F_STR || (size) == 1 || (size) == 4 || (size) == 8 ? 1 : -1]))
#define FIELD(type, kind, member)                                                                  \
    {                                                                                              \
        kind, offsetof(type, member), FIELD_WIDTH(kind, sizeof((type *)0)->member)                 \
    }

static const field_t s_head_fields[] = {
    FIELD(ru_fold_t, F_STR, tz),        FIELD(ru_fold_t, F_ZZ, day),
    FIELD(ru_fold_t, F_ZZ, opened_day), FIELD(ru_fold_t, F_UV, order),
    FIELD(ru_fold_t, F_UV, dropped),
};

static const field_t s_ticket_fields[] = {
    FIELD(fticket_t, F_STR, id),   FIELD(fticket_t, F_IDX, svc),  FIELD(fticket_t, F_IDX, staff),
    FIELD(fticket_t, F_UV, prio),  FIELD(fticket_t, F_UV, flags), FIELD(fticket_t, F_ZZ, day),
    FIELD(fticket_t, F_UV, order),
};

static const field_t s_counter_fields[] = {
    FIELD(fcounter_t, F_IDX, id),
    FIELD(fcounter_t, F_IDX, staff),
    FIELD(fcounter_t, F_UV, state),
    FIELD(fcounter_t, F_ZZ, since_ms),
};

static const field_t s_complaint_fields[] = {
    FIELD(fcomplaint_t, F_STR, id),        FIELD(fcomplaint_t, F_IDX, category),
    FIELD(fcomplaint_t, F_UV, channel),    FIELD(fcomplaint_t, F_UV, flags),
    FIELD(fcomplaint_t, F_ZZ, ack_due_ms), FIELD(fcomplaint_t, F_ZZ, resolve_due_ms),
    FIELD(fcomplaint_t, F_UV, order),
};

static const field_t s_device_fields[] = {
    FIELD(fdevice_t, F_IDX, id),
    FIELD(fdevice_t, F_UV, kind),
    FIELD(fdevice_t, F_ZZ, fault_since_ms),
};

/* Whether a decoded counter or device is whole: false for damage (no
 * id, a state out of range). */
typedef bool (*valid_fn)(const void *rec);

static bool s_counter_valid(const void *rec)
{
    const fcounter_t *c = rec;
    return c->id != NONE && c->state <= C_PAUSED;
}

static bool s_device_valid(const void *rec) { return ((const fdevice_t *)rec)->id != NONE; }

/* One array of records in the fold, saved as its count and then each
 * record's fields; the offsets are of the array, its count and its room
 * in ru_fold_t. A keyed kind (tickets, complaints) is found by its id
 * string through a map of the fold, which decoding fills; `valid` checks
 * the others. */
typedef struct rec_kind {
    const field_t *fields;
    size_t n_fields;
    size_t arr, n, cap;
    size_t size, max;
    bool keyed;
    size_t id, map; /* keyed: the id in the record, the map in ru_fold_t */
    valid_fn valid;
} rec_kind_t;

#define RECORDS(fields_, member, type, max_)                                                       \
    .fields = fields_, .n_fields = sizeof fields_ / sizeof fields_[0],                             \
    .arr = offsetof(ru_fold_t, member), .n = offsetof(ru_fold_t, n_##member),                      \
    .cap = offsetof(ru_fold_t, cap_##member), .size = sizeof(type), .max = max_

/* In the order they are saved. */
static const rec_kind_t s_records[] = {
    {RECORDS(s_ticket_fields, tickets, fticket_t, RU_FOLD_TICKETS_MAX), .keyed = true,
     .id = offsetof(fticket_t, id), .map = offsetof(ru_fold_t, ticket_map)},
    {RECORDS(s_counter_fields, counters, fcounter_t, RU_FOLD_COUNTERS_MAX),
     .valid = s_counter_valid},
    {RECORDS(s_complaint_fields, complaints, fcomplaint_t, RU_FOLD_COMPLAINTS_MAX), .keyed = true,
     .id = offsetof(fcomplaint_t, id), .map = offsetof(ru_fold_t, complaint_map)},
    {RECORDS(s_device_fields, devices, fdevice_t, RU_FOLD_DEVICES_MAX), .valid = s_device_valid},
};

/* A member of 1, 4 or 8 bytes as a number, and back (truncated to its
 * width, as a cast would). */
static uint64_t s_load(const void *p, size_t size, bool is_signed)
{
    if (size == 1) {
        uint8_t v;
        memcpy(&v, p, 1);
        return v;
    }
    if (size == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        return is_signed ? (uint64_t)(int64_t)(int32_t)v : v;
    }
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void s_store(void *p, size_t size, uint64_t v)
{
    if (size == 1) {
        uint8_t b = (uint8_t)v;
        memcpy(p, &b, 1);
    } else if (size == 4) {
        uint32_t w = (uint32_t)v;
        memcpy(p, &w, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

/* ---------------------------------------------------------- writing ---- */

static void s_write_fields(wbuf_t *w, const void *rec, const field_t *fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)rec + fs[i].off;
        switch (fs[i].kind) {
        case F_STR: s_ws(w, p); break;
        case F_IDX: s_wx(w, (uint32_t)s_load(p, fs[i].size, false)); break;
        case F_UV: s_wv(w, s_load(p, fs[i].size, false)); break;
        case F_ZZ: s_wi(w, (int64_t)s_load(p, fs[i].size, true)); break;
        }
    }
}

int ru_fold_encode(const ru_fold_t *f, uint8_t **out, size_t *len)
{
    wbuf_t w = {0};
    uint8_t v = FOLD_VERSION;
    s_w(&w, &v, 1);
    s_write_fields(&w, f, s_head_fields, sizeof s_head_fields / sizeof s_head_fields[0]);
    s_wv(&w, f->n_str);
    for (size_t i = 0; i < f->n_str; i++)
        s_ws(&w, f->str[i]);
    for (size_t k = 0; k < sizeof s_records / sizeof s_records[0]; k++) {
        const rec_kind_t *rk = &s_records[k];
        const char *base = (const char *)f;
        size_t n = *(const size_t *)(base + rk->n);
        const char *arr = *(void *const *)(base + rk->arr);
        s_wv(&w, n);
        for (size_t i = 0; i < n; i++)
            s_write_fields(&w, arr + i * rk->size, rk->fields, rk->n_fields);
    }
    if (w.bad) {
        free(w.p);
        return HB_ENOMEM;
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

typedef struct rbuf {
    const uint8_t *p, *end;
    bool bad;
} rbuf_t;

static uint64_t s_rv(rbuf_t *r)
{
    uint64_t v = 0;
    if (!r->bad && !ru_varint_get(&r->p, r->end, &v))
        r->bad = true;
    return r->bad ? 0 : v;
}

static int64_t s_ri(rbuf_t *r) { return ru_unzigzag(s_rv(r)); }

static void s_rs(rbuf_t *r, char *out, size_t cap)
{
    uint64_t n = s_rv(r);
    if (r->bad || n >= cap || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        out[0] = '\0';
        return;
    }
    memcpy(out, r->p, n);
    out[n] = '\0';
    r->p += n;
}

static uint32_t s_rx(rbuf_t *r, size_t n_str)
{
    uint64_t v = s_rv(r);
    if (v > n_str)
        r->bad = true;
    return v == 0 || r->bad ? NONE : (uint32_t)(v - 1);
}

/* ---------------------------------------------------------- reading ---- */

static void s_read_fields(rbuf_t *r, void *rec, const field_t *fs, size_t n, size_t n_str)
{
    for (size_t i = 0; i < n; i++) {
        char *p = (char *)rec + fs[i].off;
        switch (fs[i].kind) {
        case F_STR: s_rs(r, p, fs[i].size); break;
        case F_IDX: s_store(p, fs[i].size, s_rx(r, n_str)); break;
        case F_UV: s_store(p, fs[i].size, s_rv(r)); break;
        case F_ZZ: s_store(p, fs[i].size, (uint64_t)s_ri(r)); break;
        }
    }
}

/* Files keyed record `index` in its kind's map: false when its id is
 * empty or already there (a repeated ticket or complaint is damage). */
static bool s_file_keyed(ru_fold_t *f, const rec_kind_t *k, const char *rec, size_t index)
{
    const char *id = rec + k->id;
    ru_strmap_t *map = (ru_strmap_t *)((char *)f + k->map);
    return id[0] && ru_strmap_find(map, f, id) < 0 && ru_strmap_add(map, f, (uint32_t)index) == 0;
}

/* One array of records: its count, then each record, checked and filed
 * as its kind says. 0, HB_EPARSE, HB_ENOMEM. */
static int s_read_records(rbuf_t *r, ru_fold_t *f, const rec_kind_t *k)
{
    uint64_t n = s_rv(r);
    if (r->bad || n > k->max)
        return HB_EPARSE;
    /* The array's pointer is taken as a void *, as ru_fold__room takes it. */
    char *base = (char *)f;
    void **arr = (void **)(base + k->arr);
    size_t *count = (size_t *)(base + k->n), *cap = (size_t *)(base + k->cap);
    for (uint64_t i = 0; i < n; i++) {
        if (!ru_fold__room(arr, cap, *count, k->size, k->max))
            return HB_ENOMEM;
        char *rec = (char *)*arr + *count * k->size;
        memset(rec, 0, k->size);
        s_read_fields(r, rec, k->fields, k->n_fields, f->n_str);
        if (r->bad || (k->valid && !k->valid(rec)) ||
            (k->keyed && !s_file_keyed(f, k, rec, *count)))
            return HB_EPARSE;
        (*count)++;
    }
    return 0;
}

int ru_fold_decode(uint32_t hall, const uint8_t *data, size_t len, ru_fold_t **out)
{
    rbuf_t r = {.p = data, .end = data + len};
    if (len < 1 || *r.p++ != FOLD_VERSION)
        return HB_EPARSE;
    ru_fold_t *f = ru_fold_new(hall);
    if (!f)
        return HB_ENOMEM;
    int rc = HB_EPARSE;
    s_read_fields(&r, f, s_head_fields, sizeof s_head_fields / sizeof s_head_fields[0], 0);
    if (f->tz[0] && hb_tz_get(f->tz, &f->tzp, NULL, 0) != 0)
        f->tzp = NULL; /* the zone went away: the policy's then */
    uint64_t n = s_rv(&r);
    if (r.bad || n > RU_FOLD_STRINGS_MAX)
        goto out;
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        char s[RU_TEXT_MAX];
        s_rs(&r, s, sizeof s);
        /* Keep the indexes: an empty or repeated id is damage. */
        if (r.bad || !s[0] || ru_fold__intern(f, s) != i)
            goto out;
    }
    for (size_t k = 0; k < sizeof s_records / sizeof s_records[0]; k++) {
        rc = s_read_records(&r, f, &s_records[k]);
        if (rc != 0)
            goto out;
    }
    rc = HB_EPARSE;
    if (r.bad || r.p != r.end)
        goto out;
    *out = f;
    return 0;
out:
    ru_fold_destroy(&f);
    return rc;
}
