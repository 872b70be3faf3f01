/* The hall registry: hall records by number (an HB_VEC) and the kit's id
 * map from id to number over them. Halls are never removed while hqd runs
 * (a revoked key only stops new frames), so numbers stay put. Not for what
 * a hall is doing: that is the mirror's and the board's. */
#include "halls.h"

#include "hallbus/destroy.h"
#include "hallbus/idmap.h"
#include "hallbus/vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hq_halls {
    HB_VEC(hq_hall_t *) by_num; /* index: number (0 is never a hall) */
    hb_idmap_t ids;             /* id -> number */
    size_t count;
    uint32_t next_num;
    HB_VEC(hq_hall_t *) sorted; /* valid prefix; rebuilt when count changes */
    size_t sorted_count;
};

static const void *s_id_of(const void *owner, uint32_t num)
{
    return ((const hq_halls_t *)owner)->by_num.v[num]->id;
}

hq_halls_t *hq_halls_new(void)
{
    hq_halls_t *hs = calloc(1, sizeof *hs);
    if (!hs)
        return NULL;
    hs->by_num.max = HQ_HALLS_MAX + 1;
    hs->sorted.max = HQ_HALLS_MAX;
    hb_idmap_init(&hs->ids, HQ_HALLS_MAX, s_id_of);
    hs->next_num = 1;
    return hs;
}

static void s_fini(hq_halls_t *hs)
{
    hb_vec_free_owned(&hs->by_num);
    hb_idmap_free(&hs->ids);
    hb_vec_free(&hs->sorted);
}

void hq_halls_destroy(hq_halls_t **hsp) { HB_DESTROY(hsp, s_fini); }

/* Once per message at ingest, so the key function is named here and
 * inlined. A micro-benchmark over 10,000 halls (best of 8 runs): 14.4 ns a
 * find with the hand-written table this replaced, 17.0 ns through the
 * map's function pointer, 15.8 ns so; the nanosecond left is below what
 * bench_ingest can see (a message costs microseconds). */
hq_hall_t *hq_halls_find(hq_halls_t *hs, const char *id)
{
    int32_t num = hb_idmap_find_with(&hs->ids, hs, id, s_id_of);
    return num < 0 ? NULL : hs->by_num.v[num];
}

static hq_hall_t *s_insert(hq_halls_t *hs, const char *id, uint32_t num)
{
    hq_hall_t **slot = hb_vec_at(&hs->by_num, num);
    if (!slot || *slot)
        return NULL; /* past the maximum, or the number taken: a damaged store */
    hq_hall_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    snprintf(h->id, sizeof h->id, "%s", id);
    h->num = num;
    hb_digest_init(&h->digest);
    *slot = h;
    if (hb_idmap_add(&hs->ids, hs, num) != 0) {
        *slot = NULL;
        free(h);
        return NULL;
    }
    hs->count++;
    if (num >= hs->next_num)
        hs->next_num = num + 1;
    return h;
}

hq_hall_t *hq_halls_get(hq_halls_t *hs, const char *id)
{
    hq_hall_t *h = hq_halls_find(hs, id);
    return h ? h : s_insert(hs, id, hs->next_num);
}

void hq_hall_take_tally(hq_hall_t *h, const hq_tally_t *t)
{
    h->committed_seq = t->last_seq;
    h->events = t->events;
    h->digest = t->digest;
    h->anomalies = t->anomalies;
    h->last_anomaly_seq = t->last_anomaly_seq;
    h->last_anomaly_ms = t->last_anomaly_ms;
}

hq_hall_t *hq_halls_load(hq_halls_t *hs, const hq_hall_record_t *rec)
{
    hq_hall_t *h = s_insert(hs, rec->id, rec->num);
    if (!h)
        return NULL;
    hq_hall_take_tally(h, &rec->tally);
    h->accepted_seq = h->committed_seq;
    h->last_seen_ms = rec->last_commit_ms;
    return h;
}

hq_hall_t *hq_halls_by_num(hq_halls_t *hs, uint32_t num)
{
    return num < hs->by_num.n ? hs->by_num.v[num] : NULL;
}

size_t hq_halls_count(const hq_halls_t *hs) { return hs->count; }

static int s_cmp_id(const void *a, const void *b)
{
    return strcmp((*(hq_hall_t *const *)a)->id, (*(hq_hall_t *const *)b)->id);
}

hq_hall_t *hq_halls_sorted(hq_halls_t *hs, size_t i)
{
    if (i >= hs->count)
        return NULL;
    if (hs->sorted_count != hs->count) {
        if (hb_vec_reserve(&hs->sorted, hs->count) != 0)
            return NULL;
        size_t n = 0;
        for (size_t k = 0; k < hs->by_num.n; k++) {
            if (hs->by_num.v[k])
                hs->sorted.v[n++] = hs->by_num.v[k];
        }
        qsort(hs->sorted.v, n, sizeof *hs->sorted.v, s_cmp_id);
        hs->sorted.n = n;
        hs->sorted_count = n;
    }
    return hs->sorted.v[i];
}

void hq_halls_set_next_num(hq_halls_t *hs, uint32_t next)
{
    if (next > hs->next_num)
        hs->next_num = next;
}
