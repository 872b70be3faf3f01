/* sd_notify(3) protocol, the few lines of it hallbus needs, without
 * libsystemd. */
#include "hallbus/sdnotify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void hb_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || (path[0] != '/' && path[0] != '@'))
        return;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path)
        return;
    memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@')
        addr.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    /* Never wait for systemd: a full queue (systemd busy, or a reader that
     * stopped reading) drops this notification rather than stalling the
     * daemon's loop; the watchdog's pets come again within the interval. */
    ssize_t n =
        sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&addr,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    (void)n;
    close(fd);
}

/* A whole positive decimal number, all of `text`; 0 otherwise. */
static long long s_positive(const char *text)
{
    if (!text || !*text)
        return 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    return *end == '\0' && v > 0 ? v : 0;
}

int64_t hb_sd_watchdog_ms(void)
{
    long long usec = s_positive(getenv("WATCHDOG_USEC"));
    if (!usec)
        return 0;
    /* sd_watchdog_enabled(3): WATCHDOG_PID, when set, names the process the
     * watchdog is for. A child that inherited the variables (a helper the
     * daemon starts, a test's daemon started by a supervised shell) is not
     * it, and must not pet a watchdog that would then never fire. */
    const char *pid_text = getenv("WATCHDOG_PID");
    if (pid_text && s_positive(pid_text) != (long long)getpid())
        return 0;
    return usec / 1000 > 0 ? usec / 1000 : 1;
}
