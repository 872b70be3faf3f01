/* systemd readiness and watchdog notifications without libsystemd: a
 * datagram to $NOTIFY_SOCKET. Does nothing when not run by systemd. */
#ifndef HALLBUS_SDNOTIFY_H
#define HALLBUS_SDNOTIFY_H

#include <stdint.h>

/* Sends `state` ("READY=1", "WATCHDOG=1", "STOPPING=1", "RELOADING=1"). */
void hb_sd_notify(const char *state);
/* The watchdog interval systemd asked for, in ms (WATCHDOG_USEC), or 0 when
 * none, or when WATCHDOG_PID is set and names another process (the rule of
 * sd_watchdog_enabled(3)). */
int64_t hb_sd_watchdog_ms(void);

#endif
