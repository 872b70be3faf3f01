/* Stand-ins for what the tests talk to besides hallbus itself: an HTTP
 * server that records each request and answers with raw bytes (for the
 * client's tests and hallctl's), a systemd notify socket that listens to
 * what a daemon tells systemd, and a real TLS server (openssl s_server with
 * a certificate made for it). Each runs until stopped; assertions use
 * cmocka, so a broken environment fails the test that needed it. */
#ifndef HB_TEST_STUBS_H
#define HB_TEST_STUBS_H

#include "harness.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- a recording HTTP server on 127.0.0.1 */
typedef struct hbt_stub hbt_stub_t;
/* Answers every connection by writing `reply` (`len` bytes) `repeat` times
 * (0: once) once the request's head is in, then, after `hold_ms`, closing.
 * A NULL reply holds the connection silent for `hold_ms`. */
hbt_stub_t *hbt_stub_start(const char *reply, size_t len, size_t repeat, int hold_ms);
int hbt_stub_port(const hbt_stub_t *s);
const char *hbt_stub_url(const hbt_stub_t *s); /* "http://127.0.0.1:PORT" */
/* How many requests came; the last one's head (request line and headers)
 * into `head`. */
int hbt_stub_requests(hbt_stub_t *s, char *head, size_t len);
/* Stops serving (a connection being answered is finished first). */
void hbt_stub_stop(hbt_stub_t **s);

/* ---- systemd's end of NOTIFY_SOCKET */
typedef struct hbt_notify hbt_notify_t;
/* Binds a datagram socket at `path` and reads it until stopped. */
hbt_notify_t *hbt_notify_start(const char *path);
/* Stops reading; `heard` gets every message but the watchdog's, in order,
 * each followed by a space ("READY=1 STOPPING=1 "), and the return value
 * is how many WATCHDOG=1 came. */
int hbt_notify_stop(hbt_notify_t **n, char *heard, size_t len);
/* What came so far, while it goes on reading: the same as hbt_notify_stop
 * gives (`heard` may be NULL). */
int hbt_notify_peek(hbt_notify_t *n, char *heard, size_t len);
/* The settings every daemon run by hb_daemon has, as rows of a test's
 * config table of `type` (members config, log_level and data): its config
 * file, its log level (`level` by default) and its data folder. */
#define HBT_DAEMON_ROWS(type, level)                                                               \
    HB_CONF_ROW(type, "config", HB_CONF_STRING, config, NULL, 0, 0, false, "config file",          \
                .optional = true),                                                                 \
        HB_CONF_ROW(type, "log_level", HB_CONF_STRING, log_level, level, 0, 0, true, "log level"), \
        HB_CONF_ROW(type, "data", HB_CONF_STRING, data, NULL, 0, 0, false, "data folder")
/* The watchdog's pets counted in the three phases of a stall: at least 3
 * while every thread made progress, none while one was stuck, at least 3
 * once it came back. Fails the test naming the phase: each `*_what` ends
 * its message ("in 2 s before the writer was stuck"). */
void hbt_assert_stall_pets(int before, int during, int after, const char *before_what,
                           const char *during_what, const char *after_what);

/* ---- a TLS server: openssl s_server -www with a self-signed certificate
 * for 127.0.0.1, made in `dir` (cert.pem: give it as the CA file). */
typedef struct hbt_tls {
    char cert[320];
    char url[64]; /* "https://127.0.0.1:PORT" */
    hbt_proc_t proc;
} hbt_tls_t;
/* False when the openssl command is missing (it comes with
 * ca-certificates); true once the server accepts connections. */
bool hbt_tls_start(hbt_tls_t *t, const char *dir);
/* hbt_tls_start, or, when openssl is missing, removes `dir` and skips the
 * calling test (cmocka's skip() leaves the test; this does not return). */
void hbt_tls_start_or_skip(hbt_tls_t *t, const char *dir);
void hbt_tls_stop(hbt_tls_t *t);

#endif
