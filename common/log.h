/* log.h — logging to stderr with sd-daemon "<N>" priority prefixes, so journald keeps levels.
 * Only daemons and the CLI log; common/ returns -errno and lets the caller decide. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level); /* LOG_DEBUG..LOG_EMERG; default LOG_INFO */
int log_get_max_level(void);
/* Setup, from main() before any thread starts. log_set_ident() also decides whether lines get
 * an "<N>" prefix (on when stderr is not a tty or JOURNAL_STREAM is set); log_set_prefix()
 * forces it (a CLI: off). */
void log_set_prefix(int on);
/* Program name printed before messages when not prefixing for journald (CLI use). `ident` is
 * borrowed for the life of the process. */
void log_set_ident(const char *ident);

/* Always returns -abs(err) (or 0 if err == 0), so callers can `return log_error_errno(r, ...)`.
 * "%m" in fmt expands to strerror(abs(err)) (to errno's when err is 0), by glibc's printf.
 * Safe from any thread; a message is never cut (unless memory runs out: then it ends in ...). */
int log_internal(int level, int err, const char *file, int line, const char *fmt, ...)
        _printf_(5, 6);

#define log_full_errno(level, err, ...) log_internal(level, err, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* Rate limit: at most `burst` messages per `interval_usec`; returns 1 if this one may be logged,
 * 0 if suppressed. `suppressed` counts what was dropped since the last allowed message. */
struct ratelimit {
        unsigned long long interval_usec;
        unsigned burst;
        unsigned long long begin_usec;
        unsigned num;
        unsigned suppressed;
};
#define RATELIMIT_INIT(interval, b) { .interval_usec = (interval), .burst = (b) }
int ratelimit_below(struct ratelimit *rl);
