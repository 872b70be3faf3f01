/* What the fold (fold.c) and its saved form (foldcodec.c) share and
 * nobody else needs: the fold's state and its records, and the few calls
 * the decoder makes to rebuild a state the way the fold builds one.
 * Private to hqd/reports/; the public face is fold.h. */
#ifndef HQD_REPORTS_FOLD_INT_H
#define HQD_REPORTS_FOLD_INT_H

#include "fold.h"

#include "strmap.h"

#include "hallbus/tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An interned id that is none (an index into the fold's strings else). */
#define NONE UINT32_MAX

enum { T_CALLED = 1, T_FINISHED = 2 };
enum { C_CLOSED = 0, C_IDLE = 1, C_BUSY = 2, C_PAUSED = 3 };
enum { K_ACKED = 1, K_OVERDUE = 2 };

typedef struct fticket {
    char id[RU_TEXT_MAX];
    uint32_t svc, staff; /* interned, NONE when unknown */
    uint8_t prio;
    uint8_t flags;
    int32_t day; /* local day it was issued (or first seen) */
    uint32_t order;
} fticket_t;

typedef struct fcounter {
    uint32_t id, staff;
    uint8_t state;
    int64_t since_ms;
} fcounter_t;

typedef struct fcomplaint {
    char id[RU_TEXT_MAX];
    uint32_t category;
    uint8_t channel;
    uint8_t flags;
    int64_t ack_due_ms, resolve_due_ms;
    uint32_t order;
} fcomplaint_t;

typedef struct fdevice {
    uint32_t id;
    uint8_t kind;
    int64_t fault_since_ms; /* 0: not in fault */
} fdevice_t;

struct ru_fold {
    uint32_t hall;
    char tz[HB_TZ_NAME_MAX]; /* from the stream's day_started, "" before */
    const hb_tz_t *tzp;
    int32_t day;        /* local day of the newest event, INT32_MIN before */
    int32_t opened_day; /* the day whose first counter opening was measured */
    uint32_t order;
    uint64_t dropped;
    /* The local hour the last event fell in, for the next ones. */
    const hb_tz_t *win_tz;
    int64_t win_lo_s, win_hi_s;
    int32_t win_day;
    int64_t win_day_start_s; /* local midnight of win_day, as local seconds */
    int32_t win_off;
    /* Interned ids. */
    char (*str)[RU_TEXT_MAX];
    size_t n_str, cap_str;
    ru_strmap_t str_map;
    fticket_t *tickets;
    size_t n_tickets, cap_tickets;
    ru_strmap_t ticket_map;
    fcomplaint_t *complaints;
    size_t n_complaints, cap_complaints;
    ru_strmap_t complaint_map;
    fcounter_t *counters;
    size_t n_counters, cap_counters;
    fdevice_t *devices;
    size_t n_devices, cap_devices;
};

/* Grows an array of `size`-byte records to hold one more, up to `max`. */
bool ru_fold__room(void **arr, size_t *cap, size_t n, size_t size, size_t max);
/* The index of id `s` among the fold's strings, added when new; NONE for an
 * empty or overlong id, or when the strings are full (counted as dropped). */
uint32_t ru_fold__intern(ru_fold_t *f, const char *s);
/* The live ticket or complaint `id`, or NULL. */
fticket_t *ru_fold__ticket(ru_fold_t *f, const char *id);
fcomplaint_t *ru_fold__complaint(ru_fold_t *f, const char *id);

#endif
