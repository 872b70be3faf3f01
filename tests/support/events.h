/* What the unit tests feed the reducer and the rules with: JSON written
 * with single quotes (test text reads better so), events from it stamped
 * at a moment, events applied as the next of a hall's stream, policies, and
 * a simulated day of a hall as envelopes or as hallsim's driver's requests. Each fails the test that called it
 * when its input is wrong: a fixture that does not parse is a broken test.
 * Not for checking anything: the tests assert what they mean themselves. */
#ifndef HB_TEST_EVENTS_H
#define HB_TEST_EVENTS_H

#include "hallbus.pb-c.h"
#include "hallbus/hallstate.h"
#include "hallbus/policy.h"
#include "org.h"
#include "sim.h"
#include "simdrive.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* JSON with ' for " (new reference); at most 4,095 bytes. */
json_t *hbt_json(const char *text);
json_t *hbt_jsonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* JSON as written (no ' for "), read with jansson's `flags`
 * (JSON_REJECT_DUPLICATES, ...); new reference. */
json_t *hbt_json_exact(const char *text, size_t flags);
/* `j` as compact text with sorted keys (free() it). */
char *hbt_json_text(const json_t *j);
/* Fails, showing both texts, unless `a` and `b` (both taken, neither NULL)
 * are equal JSON. */
void hbt_assert_json_same(json_t *a, json_t *b);
/* The UTC instant (ms) of a local `date` ("2026-12-04") and time in the
 * zone `tz` ("Europe/Berlin"). */
int64_t hbt_local_ms(const char *tz, const char *date, int h, int m);
/* An event from its JSON (' for "), stamped `at` unless it says "at";
 * seq 0. Free with hb_envelope_free. */
Hallbus__Envelope *hbt_event(int64_t at, const char *text);

/* Applies the event as the next of the state's stream, at `at`; returns
 * what hb_hall_state_apply does. */
int hbt_apply(hb_hall_state_t *s, int64_t at, const char *text);
int hbt_applyf(hb_hall_state_t *s, int64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int hbt_vapplyf(hb_hall_state_t *s, int64_t at, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* hbt_applyf that must fit the state: the test fails with the event's
 * format otherwise. */
void hbt_okf(hb_hall_state_t *s, int64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A ticket issued at the kiosk (hbt_okf): `priority` "normal", "vip", ... */
void hbt_issue(hb_hall_state_t *s, int64_t at, const char *ticket, const char *service,
               const char *priority);
/* Applies a hand-built envelope (what JSON cannot say) as the next one. */
int hbt_apply_env(hb_hall_state_t *s, Hallbus__Envelope *env, int64_t at);

#define HBT_OK(s, at, text) assert_int_equal(hbt_apply((s), (at), (text)), 0)
#define HBT_ANOMALY(s, at, text)                                                                   \
    do {                                                                                           \
        uint64_t a_ = (s)->anomalies;                                                              \
        assert_int_equal(hbt_apply((s), (at), (text)), HB_EINVAL);                                 \
        assert_int_equal((s)->anomalies, a_ + 1);                                                  \
    } while (0)

/* The live ticket, counter or service of the state; each fails the test
 * when there is none. */
const hb_hs_ticket_t *hbt_ticket(const hb_hall_state_t *s, const char *id);
const hb_hs_counter_t *hbt_counter(const hb_hall_state_t *s, const char *id);
const hb_hs_service_t *hbt_service(const hb_hall_state_t *s, const char *code);
/* The state's snapshot as compact text with sorted keys (free() it). */
char *hbt_state_text(const hb_hall_state_t *s);
/* Fails the test unless what must hold after every event holds: bounds,
 * waiting counts that match the waiting tickets, busy counters with their
 * ticket. */
void hbt_state_invariants(const hb_hall_state_t *s);

/* A state with a bit of everything from `t0` on: two counters (one
 * paused), two waiting or called tickets, a complaint, a device that went
 * from ok to paper_out, feedback and a policy version. */
hb_hall_state_t *hbt_state_sample(int64_t t0);

/* docs/POLICY.md's worked example: the national, province, city and hall
 * documents, in that order. */
extern const char *const hbt_policy_example[4];

/* The regions of the country the control plane's tests share, CN -> P1
 * (C11 Harbour, C12 Hill), P2 (C21 Bay): the start of an organisation
 * document, which goes on with its own "halls". */
#define HBT_ORG_REGIONS                                                                            \
    "{\"regions\": ["                                                                              \
    " {\"id\": \"CN\", \"name\": \"Head office\", \"level\": \"national\"},"                       \
    " {\"id\": \"P1\", \"name\": \"North\", \"level\": \"province\", \"parent\": \"CN\"},"         \
    " {\"id\": \"P2\", \"name\": \"South\", \"level\": \"province\", \"parent\": \"CN\"},"         \
    " {\"id\": \"C11\", \"name\": \"Harbour\", \"level\": \"city\", \"parent\": \"P1\"},"          \
    " {\"id\": \"C12\", \"name\": \"Hill\", \"level\": \"city\", \"parent\": \"P1\"},"             \
    " {\"id\": \"C21\", \"name\": \"Bay\", \"level\": \"city\", \"parent\": \"P2\"}],"

/* HQ's organisation from its document (' for "). */
org_t *hbt_org(const char *text);

/* The effective policy of a document (' for "); NULL for a NULL text. */
hb_policy_t *hbt_policy(const char *text);
/* The effective policy of `doc` (taken); the test fails if it is refused. */
hb_policy_t *hbt_policy_json(json_t *doc);

/* The simulator's next event as an envelope (seq 0, stamped with its
 * moment, `*t` too), or NULL when the day is over. Free with
 * hb_envelope_free. */
Hallbus__Envelope *hbt_sim_next(hb_sim_hall_t *h, int64_t *t);
/* The driver's next request (`*req`), asked for at the moment it is due,
 * past the steps that need none (HB_EAGAIN); false once the day is over.
 * Any other answer fails the test, as does nothing due 100,000 times
 * running. */
bool hbt_simdrive_next(hb_simdrive_t *d, hb_sd_request_t *req);
/* One simulated day of hall `hall` as envelopes numbered 1.., opened by a
 * day_started in UTC. */
typedef struct hbt_day {
    Hallbus__Envelope **envs;
    size_t n;
    hb_sim_stats_t stats;
} hbt_day_t;
hbt_day_t hbt_sim_day(uint64_t seed, int hall, int64_t open_ms);
void hbt_day_free(hbt_day_t *d);

#endif
