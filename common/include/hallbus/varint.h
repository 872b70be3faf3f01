/* Unsigned varints (LEB128, protobuf's wire varint): seven bits a byte,
 * lowest first, the high bit set on every byte but the last. For bytes
 * written by hand next to protobuf-c's own (the benchmarks' envelope
 * prefix); the rollups' encodings (hqd/reports/hist.c) use the same
 * format. */
#ifndef HALLBUS_VARINT_H
#define HALLBUS_VARINT_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes one varint takes (a uint64_t). */
#define HB_VARINT_MAX 10

/* Writes `v` at `out` (room for HB_VARINT_MAX bytes); returns the bytes
 * written, 1 to HB_VARINT_MAX. */
size_t hb_varint_put(uint8_t *out, uint64_t v);

#endif
