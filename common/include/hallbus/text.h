/* The fast text writer: a growing text with a maximum, written to with
 * bytes, printf and JSON strings, for answers built straight as text (the
 * board's tiles, /metrics, CSV exports) where building a jansson object
 * only to dump it costs more than the rest of the work.
 *
 * A write that would pass the maximum, or finds no memory, marks the text
 * full and is dropped, as is every write after: the caller checks `full`
 * once at the end rather than after each write. The text is always
 * NUL-terminated once anything was written. Not for parsing, nor for JSON
 * whose shape varies with the data (jansson is clearer there). */
#ifndef HALLBUS_TEXT_H
#define HALLBUS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hb_text {
    char *p;    /* NULL until the first write */
    size_t len; /* bytes written, the NUL not counted */
    size_t cap;
    size_t max; /* the most bytes it may hold, the NUL not counted */
    bool full;  /* a write was dropped: over `max` or out of memory */
} hb_text_t;

/* An empty text of at most `max` bytes (max > 0). Allocates nothing. */
#define HB_TEXT_INIT(max_)                                                                         \
    {                                                                                              \
        .max = (max_)                                                                              \
    }
void hb_text_init(hb_text_t *t, size_t max);
/* Empties the text (and clears `full`), keeping its memory for reuse. */
void hb_text_reset(hb_text_t *t);
/* Frees the memory; the text is empty and keeps its maximum. */
void hb_text_free(hb_text_t *t);
/* Hands the bytes to the caller (free() them; NULL when nothing was
 * written or the text is full) with their length in *len; the text is
 * empty after. */
char *hb_text_take(hb_text_t *t, size_t *len);

void hb_text_put(hb_text_t *t, const char *s, size_t n);
void hb_text_puts(hb_text_t *t, const char *s);
void hb_text_putf(hb_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A number in decimal, without printf: for answers that write thousands
 * of figures (the board's tiles and region aggregates). */
void hb_text_u64(hb_text_t *t, uint64_t v);

/* `s` as a JSON string with its quotes, or null when `s` is NULL. `s` must
 * be UTF-8 (hallbus/utf8.h): only quotes, backslashes and control
 * characters are escaped. */
void hb_text_json_str(hb_text_t *t, const char *s);
/* An instant as a JSON RFC 3339 string, or null when `ms` is 0. */
void hb_text_json_time(hb_text_t *t, int64_t ms);

#endif
