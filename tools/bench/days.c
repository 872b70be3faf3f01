/* The simulator's hall days as envelope bytes (see days.h). The envelope's
 * seq (field 1) and at_ms (field 2) come before its body (fields 10..99) in
 * protobuf-c's output, and a proto3 zero is left out, so an envelope packed
 * with both zero is its body alone and the full envelope is the two
 * varint fields written in front of it: what days_build checks. */
#include "days.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/varint.h"
#include "sim.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAYS_KINDS_MAX 128 /* body cases counted (the proto's kinds are 10..99) */
#define DAYS_PREFIX_MAX (2 + 2 * HB_VARINT_MAX) /* two tags and two varints */
#define DAYS_OPEN_MS                                                                               \
    1764666000000LL /* a morning in the model's UTC: only the days' order uses it */

typedef struct day {
    uint8_t *bytes; /* the bodies, one after another */
    uint32_t *offs; /* n + 1 offsets into bytes */
    uint32_t n;
} day_t;

struct days {
    day_t *day;
    int n;
    size_t events, body_bytes;
    int kinds;
};

static size_t s_prefix(uint8_t *p, uint64_t seq, int64_t at_ms)
{
    size_t n = 0;
    p[n++] = 0x08; /* field 1, varint */
    n += hb_varint_put(p + n, seq);
    p[n++] = 0x10; /* field 2, varint */
    n += hb_varint_put(p + n, (uint64_t)at_ms);
    return n;
}

/* Appends `len` bytes to a growing buffer; false when out of memory. */
static bool s_append(uint8_t **buf, size_t *used, size_t *cap, const uint8_t *src, size_t len)
{
    if (*used + len > *cap) {
        size_t c = *cap ? *cap * 2 : 16384;
        while (c < *used + len)
            c *= 2;
        uint8_t *nb = realloc(*buf, c);
        if (!nb)
            return false;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *used, src, len);
    *used += len;
    return true;
}

/* The body of `env` (seq and time zeroed) after checking that the prefix
 * trick gives hb_envelope_pack's bytes. */
static int s_body(Hallbus__Envelope *env, uint8_t **body, size_t *len, char *err, size_t errlen)
{
    env->seq = 0;
    env->at_ms = 0;
    if (hb_envelope_pack(env, body, len) != 0)
        return HB_ENOMEM;
    uint8_t *full = NULL, want[DAYS_PREFIX_MAX + HB_EVENT_MAX];
    size_t flen = 0;
    env->seq = 1234567;
    env->at_ms = DAYS_OPEN_MS + 987;
    if (hb_envelope_pack(env, &full, &flen) != 0) {
        free(*body);
        return HB_ENOMEM;
    }
    size_t p = s_prefix(want, env->seq, env->at_ms);
    bool same = *len <= HB_EVENT_MAX && p + *len == flen;
    if (same) {
        memcpy(want + p, *body, *len);
        same = memcmp(want, full, flen) == 0;
    }
    free(full);
    if (!same) {
        snprintf(err, errlen, "a %s event packs otherwise than seq and time before its body",
                 hb_event_type_name(env));
        free(*body);
        return HB_EINVAL;
    }
    return 0;
}

/* One hall's day of the model into `d`. */
static int s_day(uint64_t seed, int index, day_t *d, bool seen[DAYS_KINDS_MAX], size_t *bytes,
                 char *err, size_t errlen)
{
    hb_sim_hall_t *h = hb_sim_hall_new(seed, index, DAYS_OPEN_MS);
    if (!h)
        return HB_ENOMEM;
    size_t used = 0, cap = 0, ncap = 0;
    int rc = 0;
    int64_t at;
    json_t *ev;
    while (rc == 0 && (rc = hb_sim_next(h, &at, &ev)) == 0) {
        json_object_del(ev, "at"); /* the time is set when sent */
        Hallbus__Envelope *env = NULL;
        rc = hb_event_from_json(ev, at, 0, &env, err, errlen);
        json_decref(ev);
        if (rc != 0)
            break;
        uint8_t *body = NULL;
        size_t len = 0;
        rc = s_body(env, &body, &len, err, errlen);
        if (rc == 0 && (int)env->body_case < DAYS_KINDS_MAX)
            seen[env->body_case] = true;
        hb_envelope_free(env);
        if (rc != 0)
            break;
        if (d->n + 2 > ncap) {
            ncap = ncap ? ncap * 2 : 1024;
            uint32_t *no = realloc(d->offs, ncap * sizeof *no);
            if (!no) {
                free(body);
                rc = HB_ENOMEM;
                break;
            }
            d->offs = no;
        }
        d->offs[d->n] = (uint32_t)used;
        bool ok = s_append(&d->bytes, &used, &cap, body, len);
        free(body);
        if (!ok) {
            rc = HB_ENOMEM;
            break;
        }
        d->n++;
        d->offs[d->n] = (uint32_t)used;
    }
    hb_sim_hall_destroy(&h);
    if (rc == HB_ECLOSED && d->n > 0)
        rc = 0; /* the day is over */
    else if (rc == HB_ECLOSED)
        snprintf(err, errlen, "hall %d's day has no events", index);
    *bytes += used;
    return rc;
}

int days_build(int n, uint64_t seed, days_t **out, char *err, size_t errlen)
{
    *out = NULL;
    days_t *d = calloc(1, sizeof *d);
    if (!d || !(d->day = calloc((size_t)n, sizeof *d->day))) {
        free(d);
        return HB_ENOMEM;
    }
    bool seen[DAYS_KINDS_MAX] = {false};
    for (int i = 0; i < n; i++) {
        int rc = s_day(seed, i, &d->day[i], seen, &d->body_bytes, err, errlen);
        d->n = i + 1;
        if (rc != 0) {
            days_free(&d);
            return rc;
        }
        d->events += d->day[i].n;
    }
    for (int k = 0; k < DAYS_KINDS_MAX; k++)
        d->kinds += seen[k];
    *out = d;
    return 0;
}

void days_free(days_t **dp)
{
    days_t *d = *dp;
    if (!d)
        return;
    for (int i = 0; i < d->n; i++) {
        free(d->day[i].bytes);
        free(d->day[i].offs);
    }
    free(d->day);
    free(d);
    *dp = NULL;
}

days_cursor_t days_start(const days_t *d, int index)
{
    days_cursor_t c = {(uint32_t)(index % d->n), 0};
    return c;
}

int days_next(const days_t *d, days_cursor_t *c, uint64_t seq, int64_t at_ms,
              ProtobufCBinaryData *out)
{
    const day_t *day = &d->day[c->day];
    uint32_t off = day->offs[c->pos], len = day->offs[c->pos + 1] - off;
    uint8_t *p = malloc(DAYS_PREFIX_MAX + len);
    if (!p)
        return HB_ENOMEM;
    size_t n = s_prefix(p, seq, at_ms);
    memcpy(p + n, day->bytes + off, len);
    out->data = p;
    out->len = n + len;
    if (++c->pos == day->n) { /* the day is over: the pool's next one */
        c->pos = 0;
        c->day = (c->day + 1) % (uint32_t)d->n;
    }
    return 0;
}

size_t days_events(const days_t *d) { return d->events; }
int days_kinds(const days_t *d) { return d->kinds; }
double days_mean_body(const days_t *d)
{
    return d->events ? (double)d->body_bytes / (double)d->events : 0;
}
