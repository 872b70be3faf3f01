/* ZeroMQ sockets on libuv: see zuv.h for the edge-triggered rule it keeps. */
#include "hallbus/zuv.h"
#include "hallbus/error.h"
#include "hallbus/log.h"

#include <zmq.h>

static void s_idle_cb(uv_idle_t *handle);

void hb_zuv_drain(hb_zuv_t *z)
{
    if (z->closing)
        return;
    unsigned n = 0;
    bool empty = false;
    while (n < z->burst) {
        if (!z->on_readable(z->arg)) {
            empty = true;
            break;
        }
        n++;
        if (z->closing)
            return;
    }
    /* Stopped at the burst limit: carry on next turn, after other handles. */
    bool more = !empty;
    if (more && !z->idle_active) {
        uv_idle_start(&z->idle, s_idle_cb);
        z->idle_active = true;
    } else if (!more && z->idle_active) {
        uv_idle_stop(&z->idle);
        z->idle_active = false;
    }
}

static void s_idle_cb(uv_idle_t *handle) { hb_zuv_drain(handle->data); }

void hb_zuv_kick(hb_zuv_t *z)
{
    /* Inside a drain this is undone when the drain reads to EAGAIN, which
     * re-arms the descriptor's edge as well. */
    if (z->closing || z->idle_active)
        return;
    uv_idle_start(&z->idle, s_idle_cb);
    z->idle_active = true;
}

static void s_poll_cb(uv_poll_t *handle, int status, int events)
{
    (void)status;
    (void)events;
    hb_zuv_drain(handle->data);
}

int hb_zuv_init(uv_loop_t *loop, hb_zuv_t *z, void *zsock, unsigned burst,
                hb_zuv_read_fn on_readable, void *arg)
{
    z->zsock = zsock;
    z->on_readable = on_readable;
    z->arg = arg;
    z->burst = burst ? burst : 256;
    z->idle_active = false;
    z->closing = false;
    int fd;
    size_t len = sizeof fd;
    if (zmq_getsockopt(zsock, ZMQ_FD, &fd, &len) != 0)
        return HB_EZMQ;
    if (uv_poll_init(loop, &z->poll, fd) != 0)
        return HB_ESYS;
    z->poll.data = z;
    uv_idle_init(loop, &z->idle);
    z->idle.data = z;
    uv_poll_start(&z->poll, UV_READABLE, s_poll_cb);
    /* Messages may already be queued: the edge for them has passed. */
    uv_idle_start(&z->idle, s_idle_cb);
    z->idle_active = true;
    return 0;
}

static void s_closed(uv_handle_t *handle)
{
    hb_zuv_t *z = handle->data;
    if (--z->pending_close == 0 && z->on_close)
        z->on_close(z);
}

void hb_zuv_close(hb_zuv_t *z, void (*on_close)(hb_zuv_t *zuv))
{
    if (z->closing)
        return;
    z->closing = true;
    z->on_close = on_close;
    z->pending_close = 2;
    uv_close((uv_handle_t *)&z->poll, s_closed);
    uv_close((uv_handle_t *)&z->idle, s_closed);
}
