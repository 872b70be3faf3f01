/* The rollups' string-to-index map (see strmap.h). */
#include "strmap.h"

#include "hallbus/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

uint64_t ru_strhash(const char *s)
{
    /* FNV-1a, then a final mix so that short ids spread over the slots. */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

void ru_strmap_init(ru_strmap_t *m, ru_strmap_key_fn key_of)
{
    memset(m, 0, sizeof *m);
    m->key_of = key_of;
}

void ru_strmap_free(ru_strmap_t *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

void ru_strmap_clear(ru_strmap_t *m)
{
    if (m->slots)
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

static size_t s_slot_of(const ru_strmap_t *m, const void *owner, const char *key, bool *found)
{
    size_t mask = m->cap - 1, i = (size_t)ru_strhash(key) & mask;
    while (m->slots[i]) {
        if (strcmp(m->key_of(owner, m->slots[i] - 1), key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return i;
}

int32_t ru_strmap_find(const ru_strmap_t *m, const void *owner, const char *key)
{
    if (!m->n)
        return -1;
    bool found;
    size_t i = s_slot_of(m, owner, key, &found);
    return found ? (int32_t)(m->slots[i] - 1) : -1;
}

static int s_grow(ru_strmap_t *m, const void *owner)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return HB_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i])
            continue;
        size_t j = (size_t)ru_strhash(m->key_of(owner, m->slots[i] - 1)) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int ru_strmap_add(ru_strmap_t *m, const void *owner, uint32_t index)
{
    if ((m->n + 1) * 2 > m->cap && s_grow(m, owner) != 0)
        return HB_ENOMEM;
    bool found;
    size_t i = s_slot_of(m, owner, m->key_of(owner, index), &found);
    if (found) {
        m->slots[i] = index + 1;
        return 0;
    }
    m->slots[i] = index + 1;
    m->n++;
    return 0;
}

void ru_strmap_remove(ru_strmap_t *m, const void *owner, const char *key)
{
    if (!m->n)
        return;
    bool found;
    size_t i = s_slot_of(m, owner, key, &found), mask = m->cap - 1;
    if (!found)
        return;
    m->slots[i] = 0;
    m->n--;
    /* Backward shift: pull later entries of the run into the hole when
     * their home slot does not lie between the hole and them. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j])
            break;
        size_t home = (size_t)ru_strhash(m->key_of(owner, m->slots[j] - 1)) & mask;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        m->slots[i] = m->slots[j];
        m->slots[j] = 0;
        i = j;
    }
}

void ru_strmap_moved(ru_strmap_t *m, const char *key, uint32_t from, uint32_t to)
{
    if (!m->n)
        return;
    size_t mask = m->cap - 1, i = (size_t)ru_strhash(key) & mask;
    /* The entry is on the key's probe run; it is found by its index, so
     * the records need not be read. */
    while (m->slots[i]) {
        if (m->slots[i] == from + 1) {
            m->slots[i] = to + 1;
            return;
        }
        i = (i + 1) & mask;
    }
}
