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

int ru_fold_encode(const ru_fold_t *f, uint8_t **out, size_t *len)
{
    wbuf_t w = {0};
    uint8_t v = FOLD_VERSION;
    s_w(&w, &v, 1);
    s_ws(&w, f->tz);
    s_wi(&w, f->day);
    s_wi(&w, f->opened_day);
    s_wv(&w, f->order);
    s_wv(&w, f->dropped);
    s_wv(&w, f->n_str);
    for (size_t i = 0; i < f->n_str; i++)
        s_ws(&w, f->str[i]);
    s_wv(&w, f->n_tickets);
    for (size_t i = 0; i < f->n_tickets; i++) {
        const fticket_t *t = &f->tickets[i];
        s_ws(&w, t->id);
        s_wx(&w, t->svc);
        s_wx(&w, t->staff);
        s_wv(&w, t->prio);
        s_wv(&w, t->flags);
        s_wi(&w, t->day);
        s_wv(&w, t->order);
    }
    s_wv(&w, f->n_counters);
    for (size_t i = 0; i < f->n_counters; i++) {
        const fcounter_t *c = &f->counters[i];
        s_wx(&w, c->id);
        s_wx(&w, c->staff);
        s_wv(&w, c->state);
        s_wi(&w, c->since_ms);
    }
    s_wv(&w, f->n_complaints);
    for (size_t i = 0; i < f->n_complaints; i++) {
        const fcomplaint_t *k = &f->complaints[i];
        s_ws(&w, k->id);
        s_wx(&w, k->category);
        s_wv(&w, k->channel);
        s_wv(&w, k->flags);
        s_wi(&w, k->ack_due_ms);
        s_wi(&w, k->resolve_due_ms);
        s_wv(&w, k->order);
    }
    s_wv(&w, f->n_devices);
    for (size_t i = 0; i < f->n_devices; i++) {
        const fdevice_t *d = &f->devices[i];
        s_wx(&w, d->id);
        s_wv(&w, d->kind);
        s_wi(&w, d->fault_since_ms);
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

int ru_fold_decode(uint32_t hall, const uint8_t *data, size_t len, ru_fold_t **out)
{
    rbuf_t r = {.p = data, .end = data + len};
    if (len < 1 || *r.p++ != FOLD_VERSION)
        return HB_EPARSE;
    ru_fold_t *f = ru_fold_new(hall);
    if (!f)
        return HB_ENOMEM;
    int rc = HB_EPARSE;
    s_rs(&r, f->tz, sizeof f->tz);
    if (f->tz[0] && hb_tz_get(f->tz, &f->tzp, NULL, 0) != 0)
        f->tzp = NULL; /* the zone went away: the policy's then */
    f->day = (int32_t)s_ri(&r);
    f->opened_day = (int32_t)s_ri(&r);
    f->order = (uint32_t)s_rv(&r);
    f->dropped = s_rv(&r);
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
    n = s_rv(&r);
    if (r.bad || n > RU_FOLD_TICKETS_MAX)
        goto out;
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        if (!ru_fold__room((void **)&f->tickets, &f->cap_tickets, f->n_tickets, sizeof *f->tickets,
                           RU_FOLD_TICKETS_MAX)) {
            rc = HB_ENOMEM;
            goto out;
        }
        fticket_t *t = &f->tickets[f->n_tickets];
        memset(t, 0, sizeof *t);
        s_rs(&r, t->id, sizeof t->id);
        t->svc = s_rx(&r, f->n_str);
        t->staff = s_rx(&r, f->n_str);
        t->prio = (uint8_t)s_rv(&r);
        t->flags = (uint8_t)s_rv(&r);
        t->day = (int32_t)s_ri(&r);
        t->order = (uint32_t)s_rv(&r);
        if (r.bad || !t->id[0] || ru_fold__ticket(f, t->id) ||
            ru_strmap_add(&f->ticket_map, f, (uint32_t)f->n_tickets) != 0)
            goto out;
        f->n_tickets++;
    }
    n = s_rv(&r);
    if (r.bad || n > RU_FOLD_COUNTERS_MAX)
        goto out;
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        if (!ru_fold__room((void **)&f->counters, &f->cap_counters, f->n_counters,
                           sizeof *f->counters, RU_FOLD_COUNTERS_MAX))
            goto out;
        fcounter_t *c = &f->counters[f->n_counters++];
        c->id = s_rx(&r, f->n_str);
        c->staff = s_rx(&r, f->n_str);
        c->state = (uint8_t)s_rv(&r);
        c->since_ms = s_ri(&r);
        if (c->id == NONE || c->state > C_PAUSED)
            r.bad = true;
    }
    n = s_rv(&r);
    if (r.bad || n > RU_FOLD_COMPLAINTS_MAX)
        goto out;
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        if (!ru_fold__room((void **)&f->complaints, &f->cap_complaints, f->n_complaints,
                           sizeof *f->complaints, RU_FOLD_COMPLAINTS_MAX))
            goto out;
        fcomplaint_t *k = &f->complaints[f->n_complaints];
        memset(k, 0, sizeof *k);
        s_rs(&r, k->id, sizeof k->id);
        k->category = s_rx(&r, f->n_str);
        k->channel = (uint8_t)s_rv(&r);
        k->flags = (uint8_t)s_rv(&r);
        k->ack_due_ms = s_ri(&r);
        k->resolve_due_ms = s_ri(&r);
        k->order = (uint32_t)s_rv(&r);
        if (r.bad || !k->id[0] || ru_fold__complaint(f, k->id) ||
            ru_strmap_add(&f->complaint_map, f, (uint32_t)f->n_complaints) != 0)
            goto out;
        f->n_complaints++;
    }
    n = s_rv(&r);
    if (r.bad || n > RU_FOLD_DEVICES_MAX)
        goto out;
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        if (!ru_fold__room((void **)&f->devices, &f->cap_devices, f->n_devices, sizeof *f->devices,
                           RU_FOLD_DEVICES_MAX))
            goto out;
        fdevice_t *d = &f->devices[f->n_devices++];
        d->id = s_rx(&r, f->n_str);
        d->kind = (uint8_t)s_rv(&r);
        d->fault_since_ms = s_ri(&r);
        if (d->id == NONE)
            r.bad = true;
    }
    if (r.bad || r.p != r.end)
        goto out;
    *out = f;
    return 0;
out:
    ru_fold_destroy(&f);
    return rc;
}
