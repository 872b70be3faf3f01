/* The benchmarks' simulated halls on the wire: each a DEALER socket with its
 * own enrolled CURVE key pair speaking the link protocol frame by frame (no
 * branchd, no outbox), plus starting a scratch hqd for them. Shared by
 * bench_ingest and bench_live; not for use in the daemons. */
#ifndef TOOLS_SIMLINK_H
#define TOOLS_SIMLINK_H

#include "hallbus.pb-c.h"
#include "hallbus/cert.h"
#include "hallbus/config.h"
#include "hallbus/httpc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The settings rows both benchmarks take, for their settings struct
 * `type_s` with `char *hqd, *token`: which hqd to start, and the token its
 * API is asked with. */
#define SIMLINK_ROWS(type_s)                                                                       \
    HB_CONF_ROW(type_s, "hqd", HB_CONF_STRING, hqd, NULL, 0, 0, false,                             \
                "the hqd binary (default: next to this tool's build folder)", .optional = true,    \
                .meta = "PATH"),                                                                   \
        HB_CONF_ROW(type_s, "token", HB_CONF_STRING, token, NULL, 0, 0, false,                     \
                    "sent to hqd's API as 'Authorization: Bearer TOKEN'", .optional = true,        \
                    .meta = "TOKEN", .env = "HALLBUS_TOKEN")

/* Starts `hqd` with its data and keys under `root`, listening on the two
 * ports, with `extra` arguments (NULL-terminated, may be NULL); waits until
 * its API answers (asked with `opts`). Without a token in `opts`, an admin
 * named "bench" is enrolled first (`hqd users add`) and opts->token points
 * at their token from then on. `http` gets "http://127.0.0.1:PORT". -1 on
 * failure. */
pid_t simlink_start_hqd(const char *hqd, const char *root, int zport, int hport,
                        const char *const *extra, hb_httpc_opts_t *opts, char *http,
                        size_t httplen);
/* The ZeroMQ context of a worker process's halls: one I/O thread (the
 * workers are as many processes as the halls need), room for
 * `max_sockets` sockets; rand() seeded by the process id so that workers'
 * jitter differs. NULL on failure. */
void *simlink_worker_ctx(int max_sockets);
/* Enrols hall `id` (a fresh key pair, its public part in HQ's halls/
 * folder) and connects a DEALER to `endpoint` with it. NULL on failure. */
void *simlink_connect(void *zmq_ctx, const char *root, const hb_cert_t *hq, const char *endpoint,
                      const char *id);
/* A hall's link settings as branchd's uplink puts them on its socket
 * (branchd/uplink.c): reconnect waits jittered per hall, sends refused
 * until connected, transport heartbeats. */
typedef struct simlink_uplink {
    int64_t reconnect_min_ms, reconnect_max_ms, heartbeat_ms, timeout_ms;
} simlink_uplink_t;
/* simlink_connect with those settings (`up` NULL: ZeroMQ's defaults). */
void *simlink_connect_as(void *zmq_ctx, const char *root, const hb_cert_t *hq, const char *endpoint,
                         const char *id, const simlink_uplink_t *up);
/* The two halves of that: enrol hall `id` (its key pair made, the public
 * part saved in HQ's halls/ folder) into `c`, 0 or -1; then connect a
 * DEALER with that key, NULL on failure. */
int simlink_enrol(const char *root, const char *id, hb_cert_t *c);
void *simlink_connect_cert(void *zmq_ctx, const hb_cert_t *hq, const char *endpoint,
                           const hb_cert_t *c, const simlink_uplink_t *up);
int simlink_send_frame(void *sock, const Hallbus__Frame *f);
void simlink_send_hello(void *sock);
/* Adds `sock`'s ZMQ_FD to the epoll set `ep`, its events carrying `index`
 * (the socket is then drained until it has nothing after each wake-up and
 * each send: ZMQ_FD signals edges, not levels). 0 or -1. */
int simlink_watch(int ep, void *sock, uint32_t index);
/* One batch frame of the packed events `items` (their data freed here,
 * sent or not); 0, or -1 when it could not be sent now. */
int simlink_send_batch(void *sock, ProtobufCBinaryData *items, size_t n);
/* The next frame waiting on `sock` (hb_frame_free it), or NULL when none
 * is; frames that do not unpack are passed over. */
Hallbus__Frame *simlink_recv_frame(void *sock);
/* A benchmark's scratch hqd, from start to end: `root` (a mkdtemp
 * template, filled in) made with HQ's folders, the descriptor limit
 * raised, hqd started as simlink_start_hqd does and HQ's public key read
 * into `hq`. -1, the reason printed as `tool`'s, on failure. */
pid_t simlink_hqd_up(const char *tool, const char *hqd, char *root, int zport, int hport,
                     const char *const *extra, hb_httpc_opts_t *opts, char *http, size_t httplen,
                     hb_cert_t *hq);
/* Stops that hqd and removes its root folder. */
void simlink_hqd_down(const char *tool, pid_t hqd, const char *root);
/* Creates HQ's key folder and its halls/ folder under `root`. */
int simlink_prepare_root(const char *root);
/* The hqd binary next to the running tool's build folder (static). */
const char *simlink_default_hqd(void);
/* As many open descriptors as the hard limit allows: one per hall. */
void simlink_raise_nofile(void);
/* HQ's public key, once hqd made it under `root`. */
int simlink_hq_cert(const char *root, hb_cert_t *out);

#endif
