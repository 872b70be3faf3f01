/* The one hash table of hallbus: an id map from a key to an index into the
 * caller's own array (regions, halls, campaigns, tickets, address groups).
 * The map holds only indexes; each key lives in the caller's record and is
 * read back through a function, so a key is stored once and an index found
 * is the record itself, with no second copy to keep in step.
 *
 * Keys are NUL-terminated strings, or byte strings of one fixed length (an
 * address, a number). Open addressing with linear probing, at most half
 * full, and deletion by backward shift, so there are no tombstones and a
 * probe always ends. Every map has a maximum count of keys (CONVENTIONS.md:
 * every buffer has a limit). Not for ordered walks (keep the array sorted)
 * nor for values other than an index (keep them in the record).
 *
 * The owner (the structure whose array holds the records) is passed to each
 * call rather than kept, so a map copied with its owner, or an owner moved
 * by realloc, stays right. */
#ifndef HALLBUS_IDMAP_H
#define HALLBUS_IDMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The key of record `index` of `owner`: a NUL-terminated string, or
 * `key_len` bytes for a map of fixed-length keys. */
typedef const void *(*hb_idmap_key_fn)(const void *owner, uint32_t index);

typedef struct hb_idmap {
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t cap;      /* a power of two, or 0 before the first key */
    size_t n;        /* keys held */
    size_t max;      /* the most keys it may hold */
    size_t key_len;  /* 0: string keys; else the length of every key */
    uint64_t seed;   /* mixed into the hash: 0, or random where peers pick keys */
    hb_idmap_key_fn key_of;
} hb_idmap_t;

/* An empty map of string keys, at most `max` of them. Allocates nothing. */
void hb_idmap_init(hb_idmap_t *m, size_t max, hb_idmap_key_fn key_of);
/* An empty map of `key_len`-byte keys, hashed with `seed` (random when a
 * client chooses the keys, so that it cannot aim them at one slot). */
void hb_idmap_init_bytes(hb_idmap_t *m, size_t max, size_t key_len, uint64_t seed,
                         hb_idmap_key_fn key_of);
/* Frees the slots; the map is empty (and usable) after. Idempotent. */
void hb_idmap_free(hb_idmap_t *m);
/* Forgets every key, keeping the slots allocated. */
void hb_idmap_clear(hb_idmap_t *m);

/* Sizes the slots for `n` keys (or for those held, if more) so that adding
 * up to `n` cannot fail for memory; shrinks when fewer are needed. 0,
 * HB_ENOMEM (the map is unchanged). */
int hb_idmap_reserve(hb_idmap_t *m, const void *owner, size_t n);

/* Makes the map hold exactly records 0..n-1 of `owner`, whose keys must be
 * distinct (they are not compared: a rebuild costs a hash and a probe for
 * an empty slot per key), with slots for at least `room` keys. 0, or
 * HB_ENOMEM / HB_ETOOBIG (n over the maximum), after which the map is empty. */
int hb_idmap_rebuild(hb_idmap_t *m, const void *owner, size_t n, size_t room);
/* The same for string keys with the key function named at the call, for
 * rebuilds on a hot path (the reducer's ticket index after a removal). */
static inline int hb_idmap_rebuild_with(hb_idmap_t *m, const void *owner, size_t n, size_t room,
                                        hb_idmap_key_fn key_of);

/* The index of `key`, or -1. */
static inline int32_t hb_idmap_find(const hb_idmap_t *m, const void *owner, const void *key);
/* The same for a map of string keys, with the map's key function named at
 * the call (it must be the one the map was made with): where the caller's
 * key function is visible, the compiler inlines it and the probe costs what
 * a hand-written table's does. For finds per message (a hall by id at HQ's
 * ingest). */
static inline int32_t hb_idmap_find_with(const hb_idmap_t *m, const void *owner, const void *key,
                                         hb_idmap_key_fn key_of);

/* Adds record `index` of `owner` under its key, which must not be in the
 * map yet (assert). 0; HB_ETOOBIG when the map holds `max` keys; HB_ENOMEM
 * when it cannot grow. On failure the map is unchanged. */
int hb_idmap_add(hb_idmap_t *m, const void *owner, uint32_t index);

/* Removes `key`, which must be there: its record's key must still read the
 * same. Returns its index, or -1 when it was not there. */
int32_t hb_idmap_remove(hb_idmap_t *m, const void *owner, const void *key);

/* Points `key` at `index`: the caller moved its record there, as a
 * swap-remove does. Call it while the record's old place still holds the
 * key (copy, renumber, then shorten the array). 0, or HB_ENOTFOUND. */
int hb_idmap_renumber(hb_idmap_t *m, const void *owner, const void *key, uint32_t index);

/* The hashes the maps use, FNV-1a from `seed`; not cryptographic.
 * hb_hash_bytes adds a final mix so that the slot (the low bits) depends on
 * every bit of every byte: byte keys come from peers (addresses), who could
 * otherwise aim many keys at one slot. String keys are ids that differ in
 * their low bits anyway, and a find per message is cheaper without it. */
uint64_t hb_hash_bytes(const void *p, size_t n, uint64_t seed);

/* The same slots for an index the map's keys do not fit (keys of any
 * length, or equal hashes the caller tells apart itself), whose finds the
 * caller probes: doubles `*cap` (or makes it `first_cap`, a power of two)
 * and files elements 0..n-1 anew, element i at the first free slot from
 * hash_at(arg, i), as index + 1. 0, or HB_ENOMEM with *slots unchanged. */
typedef uint64_t (*hb_slots_hash_fn)(const void *arg, size_t i);
int hb_slots_grow(uint32_t **slots, size_t *cap, size_t first_cap, size_t n,
                  hb_slots_hash_fn hash_at, const void *arg);

static inline uint64_t hb_hash_str(const char *s, uint64_t seed)
{
    uint64_t h = 14695981039346656037ULL ^ seed;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        h = (h ^ *u) * 1099511628211ULL;
    return h;
}

/* ------------------------------------------------- inline find, below ---- */

int32_t hb_idmap__find_bytes(const hb_idmap_t *m, const void *owner, const void *key);

static inline int32_t hb_idmap_find_with(const hb_idmap_t *m, const void *owner, const void *key,
                                         hb_idmap_key_fn key_of)
{
    if (m->cap == 0)
        return -1;
    size_t mask = m->cap - 1, i = (size_t)hb_hash_str((const char *)key, m->seed) & mask;
    for (;;) {
        uint32_t v = m->slots[i];
        if (v == 0)
            return -1;
        if (strcmp((const char *)key_of(owner, v - 1), (const char *)key) == 0)
            return (int32_t)(v - 1);
        i = (i + 1) & mask;
    }
}

int hb_idmap__prepare(hb_idmap_t *m, const void *owner, size_t n, size_t room);

static inline int hb_idmap_rebuild_with(hb_idmap_t *m, const void *owner, size_t n, size_t room,
                                        hb_idmap_key_fn key_of)
{
    int rc = hb_idmap__prepare(m, owner, n, room);
    if (rc != 0)
        return rc;
    size_t mask = m->cap - 1;
    for (size_t k = 0; k < n; k++) {
        size_t i = (size_t)hb_hash_str((const char *)key_of(owner, (uint32_t)k), m->seed) & mask;
        while (m->slots[i] != 0)
            i = (i + 1) & mask;
        m->slots[i] = (uint32_t)k + 1;
    }
    m->n = n;
    return 0;
}

static inline int32_t hb_idmap_find(const hb_idmap_t *m, const void *owner, const void *key)
{
    if (m->key_len)
        return hb_idmap__find_bytes(m, owner, key);
    return hb_idmap_find_with(m, owner, key, m->key_of);
}

#endif
