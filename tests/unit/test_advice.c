/* Unit tests of the diversion advice (branchd/advice.c): with the threshold
 * crossed, the nearby halls proposed are those online and open that offer
 * the customer's service with a shorter wait for it, shortest first; never
 * a closed or offline hall, one without the service, one no faster, or one
 * an older HQ sent without its services. Without a current board, the
 * policy's halls. And the board as taken from HQ's frame, through the real
 * codec: every field checked, bad entries left out. */
#include "advice.h"

#include "hallbus/codec.h"
#include "hallbus/error.h"
#include "hallbus/figures.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "runner.h"

#define T0 1796000000000LL

static void s_apply(hb_hall_state_t *s, const char *text)
{
    assert_int_equal(hbt_apply(s, T0, text), 0);
}

/* This hall: `waiting` customers for A, one counter serving A, the SLA of
 * A 600 s (so a mean of 300 s before any is known): a new customer of A
 * waits (waiting + 1) x 300. Diversion from 4 waiting. */
typedef struct hall {
    hb_hall_state_t *s;
    hb_policy_t *p;
    hb_hall_figures_t f;
} hall_t;

static hall_t *s_hall(int waiting)
{
    hall_t *h = calloc(1, sizeof *h);
    h->s = hb_hall_state_new();
    s_apply(h->s, "{'type':'counter_opened','counter':'1','staff':'E1','services':['A']}");
    for (int i = 0; i < waiting; i++) {
        char ev[160];
        snprintf(ev, sizeof ev,
                 "{'type':'ticket_issued','ticket':'A%03d','service':'A','source':'kiosk'}", i + 1);
        s_apply(h->s, ev);
    }
    json_t *doc =
        json_loads("{\"sla\":{\"max_wait_s\":{\"A:*\":600}},\"diversion\":{\"threshold\":3},"
                   "\"divert_to\":[\"P1\",\"P2\"]}",
                   0, NULL);
    char err[256];
    assert_int_equal(hb_policy_new(doc, &h->p, err, sizeof err), 0);
    json_decref(doc);
    hb_hall_figures(h->s, h->p, T0, &h->f);
    return h;
}

static void s_hall_free(hall_t **h)
{
    hb_hall_state_destroy(&(*h)->s);
    hb_policy_free(&(*h)->p);
    free(*h);
    *h = NULL;
}

/* A neighbour as HQ would send it; `services` like "A=600,B=10". */
static void s_neighbour(advice_board_t *b, const char *hall, bool online, bool open,
                        uint32_t hall_wait_s, const char *services)
{
    advice_neighbour_t *n = &b->halls[b->n++];
    memset(n, 0, sizeof *n);
    snprintf(n->hall, sizeof n->hall, "%s", hall);
    n->online = online;
    n->open = open;
    n->estimated_wait_s = hall_wait_s;
    for (const char *p = services; p && *p;) {
        advice_service_t *v = &n->services[n->n_services++];
        size_t len = strcspn(p, "=");
        snprintf(v->service, sizeof v->service, "%.*s", (int)len, p);
        v->estimated_wait_s = (uint32_t)strtoul(p + len + 1, NULL, 10);
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
}

#define HBT_FIXTURE NULL, NULL

HBT_TEST(test_proposes_only_open_faster_halls_with_the_service)
{
    (void)state;
    hall_t *h = s_hall(5); /* 6 x 300 = 1800 s here */
    advice_board_t b = {.received_mono = 1, .at_ms = T0};
    s_neighbour(&b, "SLOWER", true, true, 100, "A=2000");
    s_neighbour(&b, "FAST", true, true, 900, "A=600,B=5000");
    s_neighbour(&b, "CLOSED", true, false, 50, "A=100");
    s_neighbour(&b, "OFFLINE", false, false, 50, "A=50");
    s_neighbour(&b, "NO-A", true, true, 10, "B=10");
    s_neighbour(&b, "SAME", true, true, 10, "A=1800");
    s_neighbour(&b, "FASTEST", true, true, 1000, "A=300");
    s_neighbour(&b, "OLD-HQ", true, true, 5, NULL); /* its hall figure alone says nothing of A */
    advice_t a;
    advice_decide(h->s, &h->f, h->p, "A", &b, true, &a);
    assert_true(a.divert);
    assert_int_equal(a.waiting, 5);
    assert_int_equal(a.threshold, 3);
    assert_int_equal(a.estimated_wait_s, 1800);
    assert_true(a.from_board);
    assert_int_equal(a.n_nearby, 2);
    assert_string_equal(a.nearby[0], "FASTEST");
    assert_string_equal(a.nearby[1], "FAST");
    /* Each hall on its own, as the board's "shorter" marks say. */
    static const struct {
        const char *hall;
        bool better;
    } want[] = {{"SLOWER", false}, {"FAST", true},  {"CLOSED", false}, {"OFFLINE", false},
                {"NO-A", false},   {"SAME", false}, {"FASTEST", true}, {"OLD-HQ", false}};
    for (size_t i = 0; i < b.n; i++) {
        assert_string_equal(b.halls[i].hall, want[i].hall);
        assert_int_equal(advice_neighbour_better(&b.halls[i], "A", 1800), want[i].better);
    }
    /* For B, only FAST offers it; at 5000 s it is no better than here. */
    assert_false(advice_neighbour_better(&b.halls[1], "B", 1800));
    assert_true(advice_neighbour_better(&b.halls[1], "B", 5001));
    s_hall_free(&h);
}

/* One decision each, for a hall with `waiting` customers of A (s_hall)
 * and a board that lists FAST (A in 1 s) when `board` is set: without a
 * current board the policy's halls; at or below the threshold not due. */
HBT_TEST(test_decisions)
{
    (void)state;
    static const struct {
        const char *name;
        int waiting;
        const char *service;
        bool board, current;
        bool divert;
        uint32_t want_waiting, want_wait_s;
        bool from_board;
        size_t n_nearby;
        const char *nearby[2];
    } rows[] = {
        {"a board that is not current: the policy's halls",
         4,
         "A",
         true,
         false,
         true,
         4,
         1500,
         false,
         2,
         {"P1", "P2"}},
        {"no board: the policy's halls",
         4,
         "A",
         false,
         true,
         true,
         4,
         1500,
         false,
         2,
         {"P1", "P2"}},
        /* 4 x 300 */
        {"at the threshold: not due", 3, "A", true, true, false, 3, 1200, true, 1, {"FAST"}},
        /* A service nobody waits for and no counter serves: first in line,
         * at the fallback mean (the *:* SLA of 1200 s halved), one counter;
         * FAST does not offer it. */
        {"a service nobody waits for", 3, "Z", true, true, false, 0, 600, true, 0, {NULL}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hall_t *h = s_hall(rows[i].waiting);
        advice_board_t b = {.received_mono = 1};
        s_neighbour(&b, "FAST", true, true, 1, "A=1");
        advice_t a;
        advice_decide(h->s, &h->f, h->p, rows[i].service, rows[i].board ? &b : NULL,
                      rows[i].current, &a);
        bool same = a.divert == rows[i].divert && a.waiting == rows[i].want_waiting &&
                    a.threshold == 3 && a.estimated_wait_s == rows[i].want_wait_s &&
                    a.from_board == rows[i].from_board && a.n_nearby == rows[i].n_nearby;
        for (size_t k = 0; same && k < a.n_nearby; k++)
            same = strcmp(a.nearby[k], rows[i].nearby[k]) == 0;
        if (!same)
            fail_msg("%s: divert %d, waiting %u, threshold %lld, %u s, from the board %d, %zu "
                     "nearby (%s first)",
                     rows[i].name, a.divert, a.waiting, (long long)a.threshold, a.estimated_wait_s,
                     a.from_board, a.n_nearby, a.n_nearby ? a.nearby[0] : "none");
        s_hall_free(&h);
    }
}

HBT_TEST(test_board_current)
{
    (void)state;
    advice_board_t b = {0};
    assert_false(advice_board_current(&b, true, 5000));
    b.received_mono = 1000;
    assert_true(advice_board_current(&b, true, 1000 + ADVICE_STALE_MS));
    assert_false(advice_board_current(&b, true, 1000 + ADVICE_STALE_MS + 1));
    assert_false(advice_board_current(&b, false, 1001));
}

/* A board through the real codec: what the hall keeps of each field. */
HBT_TEST(test_board_from_the_wire)
{
    (void)state;
    char long_code[HB_HS_ID + 8], long_address[ADVICE_ADDRESS_MAX + 8];
    memset(long_code, 'S', sizeof long_code - 1);
    long_code[sizeof long_code - 1] = '\0';
    memset(long_address, 'a', sizeof long_address - 1);
    long_address[sizeof long_address - 1] = '\0';
    char codes[ADVICE_SERVICES_MAX + 4][8];
    Hallbus__NeighbourService svc[ADVICE_SERVICES_MAX + 8], *sp[ADVICE_SERVICES_MAX + 8];
    size_t ns = 0;
    /* Good, empty, too long, not UTF-8, then more than the bound. */
    const char *first[] = {"A", "", long_code, "\xff\xfe"};
    for (size_t i = 0; i < 4; i++, ns++) {
        hallbus__neighbour_service__init(&svc[ns]);
        svc[ns].service = (char *)first[i];
        svc[ns].estimated_wait_s = 100 + (uint32_t)i;
        svc[ns].waiting = 2;
        svc[ns].counters_open = 1;
        sp[ns] = &svc[ns];
    }
    for (size_t i = 0; i < ADVICE_SERVICES_MAX + 4; i++, ns++) {
        snprintf(codes[i], sizeof codes[i], "S%zu", i);
        hallbus__neighbour_service__init(&svc[ns]);
        svc[ns].service = codes[i];
        sp[ns] = &svc[ns];
    }
    Hallbus__Neighbour nb[4], *np[4];
    for (int i = 0; i < 4; i++) {
        hallbus__neighbour__init(&nb[i]);
        np[i] = &nb[i];
    }
    nb[0].hall = "H-GOOD";
    nb[0].name = "Harbour \xe6\xb8\xaf"; /* UTF-8 */
    nb[0].address = "12 Quay Road";
    nb[0].online = nb[0].open = true;
    nb[0].waiting = 3;
    nb[0].estimated_wait_s = 420;
    nb[0].n_services = ns;
    nb[0].services = sp;
    nb[1].hall = "not an id!"; /* left out */
    nb[2].hall = "H-BAD-TEXT";
    nb[2].name = "\xc3\x28";
    nb[2].address = long_address;
    nb[3].hall = "H-OLD"; /* an older HQ: no address, no services */
    Hallbus__NeighbourBoard board = HALLBUS__NEIGHBOUR_BOARD__INIT;
    board.at_ms = T0;
    board.n_neighbours = 4;
    board.neighbours = np;
    Hallbus__Frame frame = HALLBUS__FRAME__INIT;
    frame.kind_case = HALLBUS__FRAME__KIND_NEIGHBOURS;
    frame.neighbours = &board;
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(hb_frame_pack(&frame, &bytes, &len), 0);
    Hallbus__Frame *in = hb_frame_unpack(bytes, len);
    free(bytes);
    assert_non_null(in);
    assert_int_equal(in->kind_case, HALLBUS__FRAME__KIND_NEIGHBOURS);
    advice_board_t b;
    memset(&b, 0x5a, sizeof b); /* whatever was there before is replaced */
    advice_board_take(&b, in->neighbours, 777);
    hb_frame_free(in);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.at_ms, T0);
    assert_int_equal(b.received_mono, 777);
    const advice_neighbour_t *g = &b.halls[0];
    assert_string_equal(g->hall, "H-GOOD");
    assert_string_equal(g->name, "Harbour \xe6\xb8\xaf");
    assert_string_equal(g->address, "12 Quay Road");
    assert_true(g->online && g->open);
    assert_int_equal(g->waiting, 3);
    assert_int_equal(g->estimated_wait_s, 420);
    /* "A", then as many of S0.. as the bound leaves room for. */
    assert_int_equal(g->n_services, ADVICE_SERVICES_MAX);
    assert_string_equal(g->services[0].service, "A");
    assert_int_equal(g->services[0].estimated_wait_s, 100);
    assert_int_equal(g->services[0].waiting, 2);
    assert_int_equal(g->services[0].counters_open, 1);
    assert_string_equal(g->services[1].service, "S0");
    assert_string_equal(g->services[ADVICE_SERVICES_MAX - 1].service, "S14");
    assert_non_null(advice_neighbour_service(g, "A"));
    assert_null(advice_neighbour_service(g, "S15"));
    const advice_neighbour_t *t = &b.halls[1];
    assert_string_equal(t->hall, "H-BAD-TEXT");
    assert_string_equal(t->name, "");
    assert_string_equal(t->address, "");
    const advice_neighbour_t *o = &b.halls[2];
    assert_string_equal(o->hall, "H-OLD");
    assert_string_equal(o->address, "");
    assert_int_equal(o->n_services, 0);
    assert_false(advice_neighbour_better(o, "A", UINT32_MAX));
}
