/* Unsigned varints (see varint.h): the writer the benchmarks' envelope
 * prefix uses (tools/bench/days.c). */
#include "hallbus/varint.h"

size_t hb_varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    for (; v > 0x7f; v >>= 7)
        out[n++] = (uint8_t)(0x80 | (v & 0x7f));
    out[n++] = (uint8_t)v;
    return n;
}
