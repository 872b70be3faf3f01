/* Names of enumerated values (see names.h): a look-up each way over a
 * module's table, and a row of a table of structs found by its name. Not
 * for the .proto's enums (codec.c). */
#include "hallbus/names.h"

#include <string.h>

const char *hb_name_of(const char *const *names, size_t n, int v)
{
    if (v < 0 || (size_t)v >= n || !names[v])
        return "unknown";
    return names[v];
}

int hb_name_find(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n && names[i]; i++) {
        if (strcmp(names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

size_t hb_row_find(const void *rows, size_t n, size_t stride, size_t off, const char *name)
{
    const char *row = rows;
    for (size_t i = 0; name && i < n; i++, row += stride) {
        const char *row_name;
        memcpy(&row_name, row + off, sizeof row_name);
        if (row_name && strcmp(row_name, name) == 0)
            return i;
    }
    return n;
}
