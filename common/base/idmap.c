/* The id map (see idmap.h): slots of index + 1 over the caller's records,
 * linear probing at most half full, backward-shift deletion. The probe
 * reads each candidate's key through the owner; at half load a find looks
 * at one or two slots, so the indirect call costs less than keeping a
 * second copy of every key would. Not for anything but indexes. */
#include "hallbus/idmap.h"
#include "hallbus/error.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IDMAP_CAP_MIN 16

uint64_t hb_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *u = p;
    uint64_t h = 14695981039346656037ULL ^ seed; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ u[i]) * 1099511628211ULL;
    /* FNV's low bits depend on the low bits of each byte only; folding the
     * high half down lets every bit of every byte reach the slot. */
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    return h;
}

void hb_idmap_init(hb_idmap_t *m, size_t max, hb_idmap_key_fn key_of)
{
    hb_idmap_init_bytes(m, max, 0, 0, key_of);
}

void hb_idmap_init_bytes(hb_idmap_t *m, size_t max, size_t key_len, uint64_t seed,
                         hb_idmap_key_fn key_of)
{
    assert(key_of && max > 0 && max <= UINT32_MAX - 1);
    *m = (hb_idmap_t){.max = max, .key_len = key_len, .seed = seed, .key_of = key_of};
}

void hb_idmap_free(hb_idmap_t *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}

void hb_idmap_clear(hb_idmap_t *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

static size_t s_home(const hb_idmap_t *m, const void *key)
{
    uint64_t h = m->key_len ? hb_hash_bytes(key, m->key_len, m->seed) : hb_hash_str(key, m->seed);
    return (size_t)h & (m->cap - 1);
}

static bool s_same(const hb_idmap_t *m, const void *a, const void *b)
{
    return m->key_len ? memcmp(a, b, m->key_len) == 0 : strcmp(a, b) == 0;
}

/* The slot holding `key`, or the empty slot where it would go. */
static size_t s_probe(const hb_idmap_t *m, const void *owner, const void *key)
{
    size_t mask = m->cap - 1, i = s_home(m, key);
    while (m->slots[i] != 0 && !s_same(m, m->key_of(owner, m->slots[i] - 1), key))
        i = (i + 1) & mask;
    return i;
}

/* Moves every key into `cap` slots. */
static int s_rehash(hb_idmap_t *m, const void *owner, size_t cap)
{
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return HB_ENOMEM;
    hb_idmap_t grown = *m;
    grown.slots = slots;
    grown.cap = cap;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i] != 0)
            slots[s_probe(&grown, owner, m->key_of(owner, m->slots[i] - 1))] = m->slots[i];
    }
    free(m->slots);
    *m = grown;
    return 0;
}

int hb_slots_grow(uint32_t **slots, size_t *cap, size_t first_cap, size_t n,
                  hb_slots_hash_fn hash_at, const void *arg)
{
    /* A doubling past what can be addressed is as refused as calloc's. */
    if (*cap > SIZE_MAX / 2 / sizeof **slots)
        return HB_ENOMEM;
    size_t c = *cap ? *cap * 2 : first_cap;
    uint32_t *v = calloc(c, sizeof *v);
    if (!v)
        return HB_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)hash_at(arg, i) & (c - 1);
        while (v[j])
            j = (j + 1) & (c - 1);
        v[j] = (uint32_t)i + 1;
    }
    free(*slots);
    *slots = v;
    *cap = c;
    return 0;
}

int hb_idmap_reserve(hb_idmap_t *m, const void *owner, size_t n)
{
    size_t need = n > m->n ? n : m->n;
    size_t cap = IDMAP_CAP_MIN;
    while (cap < 2 * need)
        cap *= 2;
    return cap == m->cap ? 0 : s_rehash(m, owner, cap);
}

int hb_idmap__prepare(hb_idmap_t *m, const void *owner, size_t n, size_t room)
{
    hb_idmap_clear(m);
    if (n > m->max)
        return HB_ETOOBIG;
    return hb_idmap_reserve(m, owner, n > room ? n : room);
}

int hb_idmap_rebuild(hb_idmap_t *m, const void *owner, size_t n, size_t room)
{
    int rc = hb_idmap__prepare(m, owner, n, room);
    if (rc != 0)
        return rc;
    size_t mask = m->cap - 1;
    for (size_t k = 0; k < n; k++) {
        size_t i = s_home(m, m->key_of(owner, (uint32_t)k));
        while (m->slots[i] != 0)
            i = (i + 1) & mask;
        m->slots[i] = (uint32_t)k + 1;
    }
    m->n = n;
    return 0;
}

int32_t hb_idmap__find_bytes(const hb_idmap_t *m, const void *owner, const void *key)
{
    if (m->cap == 0)
        return -1;
    uint32_t v = m->slots[s_probe(m, owner, key)];
    return v ? (int32_t)(v - 1) : -1;
}

int hb_idmap_add(hb_idmap_t *m, const void *owner, uint32_t index)
{
    if (m->n >= m->max)
        return HB_ETOOBIG;
    if (2 * (m->n + 1) > m->cap) {
        int rc = s_rehash(m, owner, m->cap ? 2 * m->cap : IDMAP_CAP_MIN);
        if (rc != 0)
            return rc;
    }
    size_t i = s_probe(m, owner, m->key_of(owner, index));
    assert(m->slots[i] == 0 && "hb_idmap_add: the key is in the map already");
    m->slots[i] = index + 1;
    m->n++;
    return 0;
}

int32_t hb_idmap_remove(hb_idmap_t *m, const void *owner, const void *key)
{
    if (m->cap == 0)
        return -1;
    size_t mask = m->cap - 1, hole = s_probe(m, owner, key);
    uint32_t v = m->slots[hole];
    if (v == 0)
        return -1;
    m->slots[hole] = 0;
    m->n--;
    for (size_t j = (hole + 1) & mask; m->slots[j] != 0; j = (j + 1) & mask) {
        size_t home = s_home(m, m->key_of(owner, m->slots[j] - 1));
        /* The key at j may fill the hole when the hole lies between its
         * home and j (cyclically): it is then no farther from home, and
         * every key stays reachable from its home without a tombstone. */
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->slots[hole] = m->slots[j];
            m->slots[j] = 0;
            hole = j;
        }
    }
    return (int32_t)(v - 1);
}

int hb_idmap_renumber(hb_idmap_t *m, const void *owner, const void *key, uint32_t index)
{
    if (m->cap == 0)
        return HB_ENOTFOUND;
    size_t i = s_probe(m, owner, key);
    if (m->slots[i] == 0)
        return HB_ENOTFOUND;
    m->slots[i] = index + 1;
    return 0;
}
