/* notify.h — sd_notify wrappers (libsystemd). All are no-ops returning 0 when not run by systemd
 * (NOTIFY_SOCKET unset). The watchdog interval comes from WATCHDOG_USEC. */
#pragma once

#include <stdint.h>

#include "macro.h"

int notify_ready(const char *fmt, ...) _printf_(1, 2); /* READY=1 + STATUS= */
int notify_status(const char *fmt, ...) _printf_(1, 2);
int notify_stopping(void);  /* STOPPING=1 */
int notify_reloading(void); /* RELOADING=1 */
int notify_watchdog(void);  /* WATCHDOG=1 */
/* The interval at which to ping (half of WATCHDOG_USEC), 0 if no watchdog. */
uint64_t notify_watchdog_interval_usec(void);
