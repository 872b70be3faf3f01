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

/* The index of `key`, or -1. */
int32_t hb_idmap_find(const hb_idmap_t *m, const void *owner, const void *key);

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

/* The hash every map uses: FNV-1a over the bytes from `seed`, then a final
 * mix so that the low bits (the slot) depend on every byte. Not a
 * cryptographic hash. */
uint64_t hb_hash_bytes(const void *p, size_t n, uint64_t seed);
uint64_t hb_hash_str(const char *s, uint64_t seed);

#endif
