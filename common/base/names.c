/* Names of enumerated values (see names.h): a look-up each way over a
 * module's table. Not for the .proto's enums (codec.c). */
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
