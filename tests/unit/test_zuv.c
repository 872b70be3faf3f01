/* Unit tests of a ZeroMQ socket on a libuv loop (zuv.h), with real sockets
 * over loopback TCP: a message is read when it arrives, and one that
 * arrived while the owner sent from outside the drain (a timer, an API
 * handler) is read too. The second is the fault that once left a hall's
 * link at HQ unread for good: the send took the descriptor's wake-up, and
 * nothing else came to read the message. */
#include "hallbus/zuv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "runner.h"

typedef struct {
    void *ctx, *router, *dealer;
    uv_loop_t loop;
    hb_zuv_t zuv;
    int read;         /* messages the ROUTER's handler took */
    uint8_t rid[256]; /* the DEALER's routing id, from its first message */
    size_t rid_len;
    bool closed;
} fixture_t;

static bool s_on_readable(void *arg)
{
    fixture_t *f = arg;
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, f->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        return false;
    }
    memcpy(f->rid, zmq_msg_data(&rid), zmq_msg_size(&rid));
    f->rid_len = zmq_msg_size(&rid);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&body, f->router, ZMQ_DONTWAIT) >= 0);
    zmq_msg_close(&body);
    zmq_msg_close(&rid);
    f->read++;
    return true;
}

static void s_closed(hb_zuv_t *zuv)
{
    fixture_t *f = (fixture_t *)((char *)zuv - offsetof(fixture_t, zuv));
    f->closed = true;
}

static void s_stop_timer(uv_timer_t *t) { uv_stop(t->loop); }

/* Runs the loop until `want` messages were read, or `ms` passed. */
static void s_run_until(fixture_t *f, int want, int ms)
{
    uv_timer_t t;
    uv_timer_init(&f->loop, &t);
    for (int waited = 0; f->read < want && waited < ms; waited += 10) {
        uv_timer_start(&t, s_stop_timer, 10, 0);
        uv_run(&f->loop, UV_RUN_DEFAULT);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static int s_setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    f.ctx = zmq_ctx_new();
    f.router = zmq_socket(f.ctx, ZMQ_ROUTER);
    f.dealer = zmq_socket(f.ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(f.router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(f.dealer, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(f.router, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t len = sizeof ep;
    zmq_getsockopt(f.router, ZMQ_LAST_ENDPOINT, ep, &len);
    assert_int_equal(zmq_connect(f.dealer, ep), 0);
    uv_loop_init(&f.loop);
    assert_int_equal(hb_zuv_init(&f.loop, &f.zuv, f.router, 64, s_on_readable, &f), 0);
    *state = &f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    hb_zuv_close(&f->zuv, s_closed);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->closed);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    zmq_close(f->dealer);
    zmq_close(f->router);
    zmq_ctx_term(f->ctx);
    return 0;
}

#define HBT_FIXTURE s_setup, s_teardown

HBT_TEST(test_messages_are_read_as_they_arrive)
{
    fixture_t *f = *state;
    for (int i = 1; i <= 200; i++)
        assert_int_equal(zmq_send(f->dealer, "m", 1, 0), 1);
    /* More than a burst of 64: the rest are taken on the next turns. */
    s_run_until(f, 200, 5000);
    assert_int_equal(f->read, 200);
    assert_int_equal(zmq_send(f->dealer, "m", 1, 0), 1);
    s_run_until(f, 201, 5000);
    assert_int_equal(f->read, 201);
}

HBT_TEST(test_message_arriving_during_an_outside_send_is_read)
{
    fixture_t *f = *state;
    assert_int_equal(zmq_send(f->dealer, "first", 5, 0), 5);
    s_run_until(f, 1, 5000);
    assert_int_equal(f->read, 1);
    for (int round = 0; round < 5; round++) {
        int before = f->read;
        /* A message arrives and its wake-up is pending on the descriptor,
         * but the loop is busy elsewhere... */
        assert_int_equal(zmq_send(f->dealer, "next", 4, 0), 4);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        /* ...and sends from a timer, outside the drain: libzmq handles its
         * pending commands in the send and the descriptor is quiet after. */
        assert_true(zmq_send(f->router, f->rid, f->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0);
        assert_true(zmq_send(f->router, "reply", 5, ZMQ_DONTWAIT) >= 0);
        hb_zuv_kick(&f->zuv);
        /* Nothing else arrives: only the kick reads the message. */
        s_run_until(f, before + 1, 1000);
        if (f->read != before + 1)
            fail_msg("round %d: the message that came during the send was not read "
                     "(%d read, %d expected)",
                     round, f->read, before + 1);
    }
}
