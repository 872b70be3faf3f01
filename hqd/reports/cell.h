/* The rollups' unit of storage: a cell, the figures of one hall over one
 * period (a local day or a local month) for one breakdown (the whole hall,
 * an hour, a service and priority, a business type, a staff member, a
 * counter, a complaint channel and category, a device kind). A cell holds
 * counts and sums by metric number (the table below) and two histograms
 * (waits, service times); cells add up, so any scope and period is a sum.
 *
 * Keys, big-endian so that a hall's period is one ordered range:
 *   hall u32 | level u8 | period u32 (day or month, biased) | dim u8 | dim part
 * where the dim part is: slot (hour u8, priority u8, service), hour (u8),
 * service (priority u8, service), complaint (channel u8, category), device
 * (kind u8), business / staff / counter (the id), hall (nothing).
 *
 * Values: [u8 version 1][varint n]{varint metric, zigzag varint value}
 * [histogram of waits][histogram of service times] (hist.h's encoding); a
 * metric number this build does not know is skipped when read. Pure: no
 * storage here (rustore.h). */
#ifndef HQD_RU_CELL_H
#define HQD_RU_CELL_H

#include "hist.h"

#include "hallbus/codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(ID, number, "name"): the metrics a cell may hold. The numbers are
 * stored: never renumber or reuse one, only add. docs/REPORTS.md says what
 * each counts. */
#define RU_METRICS(X)                                                                              \
    X(ISSUED, 1, "issued")                                                                         \
    X(ISSUED_KIOSK, 2, "issued_kiosk")                                                             \
    X(ISSUED_APP, 3, "issued_app")                                                                 \
    X(ISSUED_STAFF, 4, "issued_staff")                                                             \
    X(ISSUED_UNSPECIFIED, 5, "issued_unspecified")                                                 \
    X(ISSUED_APPOINTMENT, 6, "issued_appointment")                                                 \
    X(CALLED, 7, "called")                                                                         \
    X(RECALLED, 8, "recalled")                                                                     \
    X(SERVED, 9, "served")                                                                         \
    X(SERVED_DONE, 10, "served_done")                                                              \
    X(SERVED_REFERRED, 11, "served_referred")                                                      \
    X(SERVED_REJECTED, 12, "served_rejected")                                                      \
    X(NO_SHOWS, 13, "no_shows")                                                                    \
    X(CANCELLED, 14, "cancelled")                                                                  \
    X(TRANSFERRED, 15, "transferred")                                                              \
    X(WAIT_N, 16, "wait_n")                                                                        \
    X(WAIT_SUM_S, 17, "wait_sum_s")                                                                \
    X(SERVICE_N, 18, "service_n")                                                                  \
    X(SERVICE_SUM_S, 19, "service_sum_s")                                                          \
    X(AMOUNT, 20, "amount")                                                                        \
    X(COUNTER_OPEN_S, 21, "counter_open_s")                                                        \
    X(COUNTER_BUSY_S, 22, "counter_busy_s")                                                        \
    X(COUNTER_PAUSED_S, 23, "counter_paused_s")                                                    \
    X(COMPLAINTS_OPENED, 24, "complaints_opened")                                                  \
    X(COMPLAINTS_ACKNOWLEDGED, 25, "complaints_acknowledged")                                      \
    X(COMPLAINTS_ACK_IN_SLA, 26, "complaints_acknowledged_in_sla")                                 \
    X(COMPLAINTS_RESOLVED, 27, "complaints_resolved")                                              \
    X(COMPLAINTS_RESOLVED_IN_SLA, 28, "complaints_resolved_in_sla")                                \
    X(COMPLAINTS_OVERDUE, 29, "complaints_overdue")                                                \
    X(COMPLAINTS_ESCALATED, 30, "complaints_escalated")                                            \
    X(COMPLAINTS_SATISFIED, 31, "complaints_satisfied")                                            \
    X(SAT_COUNT, 32, "satisfaction_count")                                                         \
    X(SAT_SUM, 33, "satisfaction_sum")                                                             \
    X(SAT_1, 34, "satisfaction_1")                                                                 \
    X(SAT_2, 35, "satisfaction_2")                                                                 \
    X(SAT_3, 36, "satisfaction_3")                                                                 \
    X(SAT_4, 37, "satisfaction_4")                                                                 \
    X(SAT_5, 38, "satisfaction_5")                                                                 \
    X(DEVICE_FAULT_S, 39, "device_fault_s")                                                        \
    X(OPENING_DAYS, 40, "opening_days")                                                            \
    X(OPENING_LATE_DAYS, 41, "opening_late_days")                                                  \
    X(OPENING_LATE_S, 42, "opening_late_s")                                                        \
    X(EVENTS, 43, "events")

typedef enum ru_metric {
#define RU_METRIC_ENUM(id, num, name) RU_M_##id = num,
    RU_METRICS(RU_METRIC_ENUM)
#undef RU_METRIC_ENUM
} ru_metric_t;
#define RU_M_MAX 43 /* the largest number in the table */
#define RU_M_SLOTS (RU_M_MAX + 1)

/* The metric's name, or NULL for a number outside the table. */
const char *ru_metric_name(int metric);

/* ---- keys */

typedef enum ru_level {
    RU_LEVEL_DAY = 1,   /* period: local day, days since 1970-01-01 */
    RU_LEVEL_MONTH = 2, /* period: year * 12 + month - 1 */
} ru_level_t;

/* Breakdowns. Stored: never renumber. RU_DIM_HALL sorts first, so a
 * hall's total for a period is the first key of its range. */
typedef enum ru_dim {
    RU_DIM_HALL = 0,
    RU_DIM_SLOT = 1,    /* day level: hour x priority x service */
    RU_DIM_HOUR = 2,    /* hour of the local day */
    RU_DIM_SERVICE = 3, /* month level: priority x service */
    RU_DIM_BUSINESS = 4,
    RU_DIM_STAFF = 5,
    RU_DIM_COUNTER = 6,
    RU_DIM_COMPLAINT = 7, /* channel x category */
    RU_DIM_DEVICE = 8,    /* device kind */
} ru_dim_t;
#define RU_DIMS 9

#define RU_TEXT_MAX (HB_ID_MAX + 1) /* an id of an event and its NUL */
#define RU_KEY_MAX (4 + 1 + 4 + 1 + 2 + HB_ID_MAX)

typedef struct ru_key {
    uint32_t hall;
    uint8_t level; /* ru_level_t */
    int32_t period;
    uint8_t dim;  /* ru_dim_t */
    uint8_t hour; /* slot, hour */
    uint8_t code; /* slot and service: priority; complaint: channel; device: kind */
    char text
        [RU_TEXT_MAX]; /* slot, service: service; complaint: category; business, staff, counter: id */
} ru_key_t;

/* Encodes `k` into `out` (RU_KEY_MAX bytes); returns its length. */
size_t ru_key_encode(const ru_key_t *k, uint8_t *out);
/* 0, or HB_EPARSE for bytes that are not a key. */
int ru_key_decode(const uint8_t *p, size_t len, ru_key_t *out);
/* The first 9 bytes of every key of (hall, level, period): a range prefix. */
#define RU_KEY_PREFIX 9
void ru_key_prefix(uint32_t hall, int level, int32_t period, uint8_t out[RU_KEY_PREFIX]);

/* A month's number from a day's, and back (its first day). */
int32_t ru_month_of_day(int32_t day);
int32_t ru_month_first_day(int32_t month);
int32_t ru_month_days(int32_t month);

/* ---- cells */

typedef struct ru_cell {
    int64_t m[RU_M_SLOTS]; /* by metric number; 0 for absent */
    ru_hist_t wait, service;
} ru_cell_t;

/* Zeroed is an empty cell; ru_cell_free releases its histograms. */
void ru_cell_free(ru_cell_t *c);
void ru_cell_clear(ru_cell_t *c);
bool ru_cell_empty(const ru_cell_t *c);
/* dst += src. 0 or HB_ENOMEM. */
int ru_cell_add(ru_cell_t *dst, const ru_cell_t *src);
bool ru_cell_equal(const ru_cell_t *a, const ru_cell_t *b);

#define RU_CELL_ENCODED_MAX (1 + 10 + RU_M_SLOTS * 12 + 2 * RU_HIST_ENCODED_MAX)
/* Encodes into `out` (RU_CELL_ENCODED_MAX bytes); returns the length. */
size_t ru_cell_encode(const ru_cell_t *c, uint8_t *out);
/* Adds an encoded cell to `dst`. 0, HB_EPARSE (damaged or another
 * version: `dst` may hold part of it), HB_ENOMEM. */
int ru_cell_add_encoded(ru_cell_t *dst, const uint8_t *p, size_t len);
/* One metric of an encoded cell, without reading its histograms: 0 (and
 * 0 in `*out` when the cell does not hold it) or HB_EPARSE. */
int ru_cell_metric(const uint8_t *p, size_t len, int metric, int64_t *out);

#endif
