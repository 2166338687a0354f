/* notify.c — sd_notify wrappers (see notify.h). libsystemd's sd_notify() returns 0 without
 * sending when NOTIFY_SOCKET is unset, so every function here is a cheap no-op outside systemd.
 * The environment is kept (unset_environment = 0): the watchdog interval and later messages
 * need NOTIFY_SOCKET and WATCHDOG_USEC for the whole life of the daemon. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

/* Sends "<head>STATUS=<formatted>" (head may be ""); a STATUS line cannot hold a newline, so
 * newlines in the formatted text become spaces. */
static int notify_with_status(const char *head, const char *fmt, va_list ap) {
        char *status = NULL, *msg = NULL;
        int r;

        if (!getenv("NOTIFY_SOCKET"))
                return 0;
        if (vasprintf(&status, fmt, ap) < 0)
                return -ENOMEM;
        for (char *p = status; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        if (asprintf(&msg, "%sSTATUS=%s", head, status) < 0) {
                free(status);
                return -ENOMEM;
        }
        free(status);
        r = sd_notify(0, msg);
        free(msg);
        return r;
}

int notify_ready(const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = notify_with_status("READY=1\n", fmt, ap);
        va_end(ap);
        return r;
}

int notify_status(const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = notify_with_status("", fmt, ap);
        va_end(ap);
        return r;
}

int notify_stopping(void) {
        return sd_notify(0, "STOPPING=1");
}

int notify_reloading(void) {
        return sd_notify(0, "RELOADING=1");
}

int notify_watchdog(void) {
        return sd_notify(0, "WATCHDOG=1");
}

uint64_t notify_watchdog_interval_usec(void) {
        uint64_t usec = 0;

        /* > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is us). Half the
         * timeout, as sd_watchdog_enabled(3) recommends, leaves room for a slow iteration. */
        if (sd_watchdog_enabled(0, &usec) <= 0)
                return 0;
        return usec / 2;
}
