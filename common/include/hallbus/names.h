/* Names of enumerated values, kept in tables of strings indexed by value
 * (a level, a state, an action, a channel): the value's name, and the value
 * a name stands for. One pair of loops for every such table, so that a
 * module holds only its table. Not for the .proto's enums, whose names come
 * from protobuf-c's descriptors (codec.h: hb_enum_name, hb_enum_parse).
 * Also the one loop that finds a row of a table of structs by its name
 * member (a body's members, a file's fields, a command's rows). */
#ifndef HALLBUS_NAMES_H
#define HALLBUS_NAMES_H

#include "hallbus/error.h"

#include <stddef.h>

#define HB_NAMES_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* names[v], or "unknown" when v is outside the table or a gap (NULL). */
const char *hb_name_of(const char *const *names, size_t n, int v);

/* The value v whose names[v] is `name`, or -1 (for a NULL name too). A
 * NULL entry ends the table early: a list of choices may be shorter than
 * its room. */
int hb_name_find(const char *const *names, size_t n, const char *name);

/* The index of the row named `name` among the `n` rows at `rows`, rows of
 * `stride` bytes whose `const char *` name stands `off` bytes into each;
 * `n` when no row is named so (or `name` is NULL). Through HB_ROW_FIND. */
size_t hb_row_find(const void *rows, size_t n, size_t stride, size_t off, const char *name);

/* The index of the row of the array `rows` (n rows) whose member `.name`
 * is `key`, or n:  size_t i = HB_ROW_FIND(s_fields, NFIELDS, key); (`rows`
 * may be NULL when n is 0: only its type is looked at.) */
#define HB_ROW_FIND(rows, n, key)                                                                  \
    hb_row_find((rows), (n), sizeof(rows)[0], offsetof(__typeof__((rows)[0]), name), (key))

/* Defines `const char *fn(type v)` over the array `table`: its name, as
 * hb_name_of answers. Write `static` before it for a file's own namer. */
#define HB_NAMES_NAMER(fn, type, table)                                                            \
    const char *fn(type v_) { return hb_name_of((table), HB_NAMES_COUNT(table), (int)v_); }

/* Defines `int fn(const char *name, type *out)` over the array `table`:
 * 0 and the value named `name` in *out, or HB_EINVAL (*out untouched).
 * Write `static` before it for a file's own parser. */
#define HB_NAMES_PARSER(fn, type, table)                                                           \
    int fn(const char *name, type *out)                                                            \
    {                                                                                              \
        int v_ = hb_name_find((table), HB_NAMES_COUNT(table), name);                               \
        if (v_ < 0)                                                                                \
            return HB_EINVAL;                                                                      \
        *out = (type)v_;                                                                           \
        return 0;                                                                                  \
    }

#endif
