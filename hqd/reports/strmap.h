/* A map from a string to an index into the caller's own array, for the
 * rollups' per-hall tables (tickets, complaints, interned ids): open
 * addressing with linear probing, at most half full, deletion by backward
 * shift. The map holds only indexes; a record's key is read back through
 * the caller's function, so each key is stored once, in its record.
 *
 * The kit's id map (hallbus/idmap.h, on its own branch when this was
 * written) does the same for the whole tree; once it is on main this file
 * should give way to it. Every map has a maximum count of keys. */
#ifndef HQD_RU_STRMAP_H
#define HQD_RU_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef const char *(*ru_strmap_key_fn)(const void *owner, uint32_t index);

typedef struct ru_strmap {
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t cap;      /* a power of two, or 0 */
    size_t n;
    ru_strmap_key_fn key_of;
} ru_strmap_t;

void ru_strmap_init(ru_strmap_t *m, ru_strmap_key_fn key_of);
void ru_strmap_free(ru_strmap_t *m);
void ru_strmap_clear(ru_strmap_t *m);
/* The index of `key`, or -1. */
int32_t ru_strmap_find(const ru_strmap_t *m, const void *owner, const char *key);
/* Adds record `index` under its key (which must not be there). 0 or
 * HB_ENOMEM (unchanged). */
int ru_strmap_add(ru_strmap_t *m, const void *owner, uint32_t index);
/* Removes `key`; its record must still hold it. */
void ru_strmap_remove(ru_strmap_t *m, const void *owner, const char *key);
/* The record holding `key` moved from index `from` to `to` (a swap-remove
 * of the caller's array). */
void ru_strmap_moved(ru_strmap_t *m, const char *key, uint32_t from, uint32_t to);

uint64_t ru_strhash(const char *s);

#endif
