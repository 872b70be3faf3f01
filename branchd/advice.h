/* Diversion advice: what the kiosk and the queue display tell a customer
 * when too many wait for their service ("also online, and at these nearby
 * halls"), decided from the hall's own figures (figures.h), its policy and
 * the neighbour board HQ last sent. Also the board itself: taking it from
 * the frame HQ sent, checked field by field. Pure and clock-free; the HTTP
 * API only writes down what is decided here (api/hall.c), and main.c says
 * whether the board is current.
 *
 * The rule: diversion is due for a service when more customers wait for it
 * than the policy's threshold (hb_fig_divert_due). Then, with a current
 * board, the nearby halls proposed are those that are online and open,
 * offer the customer's service (a counter open for it) and have a shorter
 * estimated wait for that same service than this hall's, shortest first;
 * both waits are figures.h's "new customer" estimate. Without a current
 * board (none yet, older than the stale limit, or HQ unreachable) the
 * policy's divert_to halls are proposed instead, since nothing says which
 * of them is faster. Never a closed hall, never one without the service. */
#ifndef BRANCHD_ADVICE_H
#define BRANCHD_ADVICE_H

#include "hallbus.pb-c.h"
#include "hallbus/figures.h"
#include "hallbus/ids.h" /* HB_HALL_ID_MAX */
#include "hallbus/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADVICE_NEIGHBOURS_MAX 8
#define ADVICE_SERVICES_MAX 16 /* services kept per neighbour */
#define ADVICE_NAME_MAX 96
#define ADVICE_ADDRESS_MAX 201 /* the organisation's bound and its NUL */
#define ADVICE_STALE_MS 20000  /* a board older than this is not current */
#define ADVICE_NEARBY_MAX                                                                          \
    (ADVICE_NEIGHBOURS_MAX > HB_POLICY_DIVERT_MAX ? ADVICE_NEIGHBOURS_MAX : HB_POLICY_DIVERT_MAX)

typedef struct advice_service {
    char service[HB_HS_ID];
    uint32_t estimated_wait_s; /* for a new customer there */
    uint32_t waiting, counters_open;
} advice_service_t;

typedef struct advice_neighbour {
    char hall[HB_HALL_ID_MAX];
    char name[ADVICE_NAME_MAX];
    char address[ADVICE_ADDRESS_MAX];
    bool online, open;
    uint32_t waiting, estimated_wait_s; /* the hall's own figures */
    size_t n_services;
    advice_service_t services[ADVICE_SERVICES_MAX]; /* those it offers */
} advice_neighbour_t;

/* The last neighbour board HQ sent. */
typedef struct advice_board {
    size_t n;
    advice_neighbour_t halls[ADVICE_NEIGHBOURS_MAX];
    int64_t at_ms;         /* HQ's time when built, 0 before any */
    int64_t received_mono; /* when it arrived (monotonic ms), 0 before any */
} advice_board_t;

/* Replaces `b` with the board in `nb`, received at `mono_now`. A neighbour
 * whose hall id breaks the rule is left out; a name or address that is
 * not UTF-8 or too long is left empty; a service whose code is not UTF-8
 * or too long is left out, and past ADVICE_SERVICES_MAX the rest are.
 * Fields an older HQ does not send read as empty. */
void advice_board_take(advice_board_t *b, const Hallbus__NeighbourBoard *nb, int64_t mono_now);

/* Whether the board is current at `mono_now` while the link to HQ is up
 * (`connected`). */
bool advice_board_current(const advice_board_t *b, bool connected, int64_t mono_now);

/* A neighbour's figures for `service`, or NULL when it does not offer it. */
const advice_service_t *advice_neighbour_service(const advice_neighbour_t *n, const char *service);
/* Whether `n` is a better place for `service` than `own_wait_s` here:
 * online, open, offers it, and a shorter wait for it. */
bool advice_neighbour_better(const advice_neighbour_t *n, const char *service, uint32_t own_wait_s);

typedef struct advice {
    bool divert;
    uint32_t waiting;          /* for the service, here */
    int64_t threshold;         /* the policy's */
    uint32_t estimated_wait_s; /* for a new customer of the service, here */
    bool from_board;           /* nearby from HQ's current board, else the policy's */
    size_t n_nearby;
    /* Hall ids, pointing into the board or the policy: valid while both
     * stay as they are. */
    const char *nearby[ADVICE_NEARBY_MAX];
} advice_t;

/* The advice for a customer of `service` (`out` filled whether or not it
 * is due). `own` are the hall's figures now; `s` the state they were taken
 * from (for a service the figures do not list yet); `board` may be NULL;
 * `board_current` from advice_board_current. */
void advice_decide(const hb_hall_state_t *s, const hb_hall_figures_t *own, const hb_policy_t *p,
                   const char *service, const advice_board_t *board, bool board_current,
                   advice_t *out);

#endif
