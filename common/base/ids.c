/* The rules of hallbus's identifiers (see ids.h). One loop serves every id
 * so that a hall id is the same thing to the certificate, the organisation
 * and every store; what an id refers to is its module's business. */
#include "hallbus/ids.h"

#include <string.h>

bool hb_id_chars_ok(const char *s, size_t max, const char *extra)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (extra && strchr(extra, c));
        if (!ok || n >= max)
            return false;
    }
    return n > 0;
}

bool hb_hall_id_valid(const char *id) { return hb_id_chars_ok(id, HB_HALL_ID_LEN, NULL); }
