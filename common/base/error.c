/* The text of every hallbus error code, generated from the one table in
 * error.h so that a new code cannot be added without its description. */
#include "hallbus/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *hb_strerror(int err)
{
    switch (err) {
#define HB_ERR_CASE(name, value, text)                                                             \
    case value: return text;
        HB_ERRORS(HB_ERR_CASE)
#undef HB_ERR_CASE
    }
    return "unknown error";
}

void hb_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int hb_err_nomem(char *err, size_t errlen)
{
    hb_errf(err, errlen, "out of memory");
    return HB_ENOMEM;
}
