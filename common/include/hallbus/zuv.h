/* A ZeroMQ socket on a libuv loop. ZMQ_FD is edge-triggered and readable
 * does not mean a message is there: after every wake-up, and after every
 * send, messages are received until the socket says EAGAIN. (Not by asking
 * ZMQ_EVENTS per message: on a ROUTER with ZMQ_ROUTER_MANDATORY that query
 * walks every peer's pipe, which costs O(halls) per message.)
 * To keep the loop fair, at most `burst` messages are taken per turn; the
 * rest are taken on the next loop iteration (an idle handle keeps it going).
 *
 * This module moves no bytes itself: `on_readable` receives the messages. */
#ifndef HALLBUS_ZUV_H
#define HALLBUS_ZUV_H

#include <stdbool.h>
#include <uv.h>

typedef struct hb_zuv hb_zuv_t;

/* Reads at most one message (all its frames) with ZMQ_DONTWAIT and handles
 * it. Returns false when there was nothing to read (EAGAIN). */
typedef bool (*hb_zuv_read_fn)(void *arg);

struct hb_zuv {
    uv_poll_t poll;
    uv_idle_t idle;
    void *zsock;
    hb_zuv_read_fn on_readable;
    void *arg;
    unsigned burst;
    bool idle_active;
    bool closing;
    int pending_close;
    void (*on_close)(hb_zuv_t *zuv);
};

/* Watches `zsock` on `loop`. The struct must stay valid until on_close. */
int hb_zuv_init(uv_loop_t *loop, hb_zuv_t *zuv, void *zsock, unsigned burst,
                hb_zuv_read_fn on_readable, void *arg);
/* Takes whatever is waiting now; call after every zmq_send on the socket. */
void hb_zuv_drain(hb_zuv_t *zuv);
/* For a send (or any other call) on the socket where draining at once is
 * not safe (the caller holds state a handler could change): the call may
 * have taken the wake-up of messages that arrived meanwhile, and with
 * nothing more arriving the socket would never be read again. This takes
 * them on the next loop turn. Cheap, and harmless inside on_readable. */
void hb_zuv_kick(hb_zuv_t *zuv);
/* Stops watching; `on_close` runs once both libuv handles are closed. The
 * ZeroMQ socket is not closed: that is the owner's. */
void hb_zuv_close(hb_zuv_t *zuv, void (*on_close)(hb_zuv_t *zuv));

#endif
