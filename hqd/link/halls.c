/* The hall registry: an open-addressing hash table of hall ids over an array
 * indexed by hall number. Halls are never removed while hqd runs (a revoked
 * key only stops new frames), so there are no tombstones. */
#include "halls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hq_halls {
    hq_hall_t **by_num; /* index: number */
    size_t num_cap;
    uint32_t *slots; /* hash slots: hall number, 0 = empty */
    size_t slot_cap;  /* power of two */
    size_t count;
    uint32_t next_num;
    hq_hall_t **sorted;
    size_t sorted_count; /* valid prefix; rebuilt when count changes */
};

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

hq_halls_t *hq_halls_new(void)
{
    hq_halls_t *hs = calloc(1, sizeof *hs);
    if (!hs)
        return NULL;
    hs->slot_cap = 1024;
    hs->slots = calloc(hs->slot_cap, sizeof *hs->slots);
    hs->next_num = 1;
    if (!hs->slots) {
        free(hs);
        return NULL;
    }
    return hs;
}

void hq_halls_destroy(hq_halls_t **hsp)
{
    hq_halls_t *hs = *hsp;
    if (!hs)
        return;
    for (size_t i = 0; i < hs->num_cap; i++)
        free(hs->by_num[i]);
    free(hs->by_num);
    free(hs->slots);
    free(hs->sorted);
    free(hs);
    *hsp = NULL;
}

static size_t s_probe(const hq_halls_t *hs, const char *id)
{
    size_t mask = hs->slot_cap - 1, i = (size_t)s_hash(id) & mask;
    while (hs->slots[i] != 0 && strcmp(hs->by_num[hs->slots[i]]->id, id) != 0)
        i = (i + 1) & mask;
    return i;
}

hq_hall_t *hq_halls_find(hq_halls_t *hs, const char *id)
{
    size_t i = s_probe(hs, id);
    return hs->slots[i] ? hs->by_num[hs->slots[i]] : NULL;
}

static int s_rehash(hq_halls_t *hs)
{
    size_t cap = hs->slot_cap * 2;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    uint32_t *old = hs->slots;
    size_t old_cap = hs->slot_cap;
    hs->slots = slots;
    hs->slot_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i])
            hs->slots[s_probe(hs, hs->by_num[old[i]]->id)] = old[i];
    }
    free(old);
    return 0;
}

static hq_hall_t *s_insert(hq_halls_t *hs, const char *id, uint32_t num)
{
    if ((hs->count + 1) * 2 > hs->slot_cap && s_rehash(hs) != 0)
        return NULL;
    if (num >= hs->num_cap) {
        size_t cap = hs->num_cap ? hs->num_cap : 1024;
        while (cap <= num)
            cap *= 2;
        hq_hall_t **p = realloc(hs->by_num, cap * sizeof *p);
        if (!p)
            return NULL;
        memset(p + hs->num_cap, 0, (cap - hs->num_cap) * sizeof *p);
        hs->by_num = p;
        hs->num_cap = cap;
    }
    if (hs->by_num[num])
        return NULL; /* number taken: a damaged store */
    hq_hall_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    snprintf(h->id, sizeof h->id, "%s", id);
    h->num = num;
    hb_digest_init(&h->digest);
    hs->by_num[num] = h;
    hs->slots[s_probe(hs, id)] = num;
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

hq_hall_t *hq_halls_load(hq_halls_t *hs, const hq_hall_record_t *rec)
{
    hq_hall_t *h = s_insert(hs, rec->id, rec->num);
    if (!h)
        return NULL;
    h->committed_seq = h->accepted_seq = rec->last_seq;
    h->events = rec->events;
    h->digest = rec->digest;
    h->last_seen_ms = rec->last_commit_ms;
    h->anomalies = rec->anomalies;
    h->last_anomaly_seq = rec->last_anomaly_seq;
    h->last_anomaly_ms = rec->last_anomaly_ms;
    return h;
}

hq_hall_t *hq_halls_by_num(hq_halls_t *hs, uint32_t num)
{
    return num < hs->num_cap ? hs->by_num[num] : NULL;
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
        hq_hall_t **p = realloc(hs->sorted, hs->count * sizeof *p);
        if (!p)
            return NULL;
        hs->sorted = p;
        size_t n = 0;
        for (size_t k = 0; k < hs->num_cap; k++) {
            if (hs->by_num[k])
                p[n++] = hs->by_num[k];
        }
        qsort(p, n, sizeof *p, s_cmp_id);
        hs->sorted_count = n;
    }
    return hs->sorted[i];
}

void hq_halls_set_next_num(hq_halls_t *hs, uint32_t next)
{
    if (next > hs->next_num)
        hs->next_num = next;
}
