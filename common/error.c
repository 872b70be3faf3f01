/* The text of every hallbus error code, generated from the one table in
 * error.h so that a new code cannot be added without its description. */
#include "hallbus/error.h"

const char *hb_strerror(int err)
{
    switch (err) {
#define HB_ERR_CASE(name, value, text)                                        \
    case value:                                                               \
        return text;
        HB_ERRORS(HB_ERR_CASE)
#undef HB_ERR_CASE
    }
    return "unknown error";
}
