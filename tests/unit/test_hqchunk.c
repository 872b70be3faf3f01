/* Unit tests of hq_chunk_open/hq_chunk_next (hqd/link/hqstore.c), the one
 * reader of a stored chunk's layout that the event store and raw-event
 * retention share: whole chunks read event by event, and every way a
 * damaged chunk is told apart from its end. Reading chunks out of LMDB is
 * tested in test_hqstore.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#include "hqstore.h"

#include <string.h>

#define EVENTS_MAX 4

/* One row: the chunk's bytes, what hq_chunk_open answers, the events read
 * in order and what hq_chunk_next answers after them (0: the end, -1:
 * damage). */
typedef struct {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    int open;
    const char *events[EVENTS_MAX];
    size_t n_events;
    int last;
} row_t;

static const uint8_t s_empty[] = {0, 0, 0, 0};
static const uint8_t s_two[] = {0, 0, 0, 2, 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0};
static const uint8_t s_trailing[] = {0, 0, 0, 1, 0, 0, 0, 1, 'x', 'j', 'u', 'n', 'k'};
static const uint8_t s_short_count[] = {0, 0, 0};
static const uint8_t s_fewer[] = {0, 0, 0, 2, 0, 0, 0, 1, 'x'};
static const uint8_t s_past_end[] = {0, 0, 0, 1, 0, 0, 0, 10, 'a', 'b', 'c'};
static const uint8_t s_cut_length[] = {0, 0, 0, 1, 0, 0};

static const row_t s_rows[] = {
    {"no events", s_empty, sizeof s_empty, 0, {0}, 0, 0},
    {"two events, one empty", s_two, sizeof s_two, 0, {"abc", ""}, 2, 0},
    {"bytes after the last event are not read", s_trailing, sizeof s_trailing, 0, {"x"}, 1, 0},
    {"too short for its count", s_short_count, sizeof s_short_count, -1, {0}, 0, 0},
    {"fewer events than its count", s_fewer, sizeof s_fewer, 0, {"x"}, 1, -1},
    {"a length past the chunk", s_past_end, sizeof s_past_end, 0, {0}, 0, -1},
    {"a length cut short", s_cut_length, sizeof s_cut_length, 0, {0}, 0, -1},
};

HBT_TEST_IN(test_chunk_rows, NULL, NULL)
{
    (void)state;
    for (size_t r = 0; r < sizeof s_rows / sizeof s_rows[0]; r++) {
        const row_t *row = &s_rows[r];
        hq_chunk_t c;
        int open = hq_chunk_open(&c, row->bytes, row->len);
        if (open != row->open)
            fail_msg("%s: open %d, not %d", row->name, open, row->open);
        if (open != 0)
            continue;
        const uint8_t *ev;
        uint32_t elen;
        for (size_t i = 0; i < row->n_events; i++) {
            if (hq_chunk_next(&c, &ev, &elen) != 1)
                fail_msg("%s: event %zu not read", row->name, i);
            if (elen != strlen(row->events[i]) || memcmp(ev, row->events[i], elen) != 0)
                fail_msg("%s: event %zu is %.*s", row->name, i, (int)elen, (const char *)ev);
            if (c.i != i + 1)
                fail_msg("%s: %u events counted after event %zu", row->name, c.i, i);
        }
        int last = hq_chunk_next(&c, &ev, &elen);
        if (last != row->last)
            fail_msg("%s: after the events %d, not %d", row->name, last, row->last);
    }
}
