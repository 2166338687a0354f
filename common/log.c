/* log.c — see log.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int max_level = LOG_INFO;
static int prefix = -1; /* -1: decide on first use */
static const char *ident;

void log_set_max_level(int level) {
        max_level = level;
}
int log_get_max_level(void) {
        return max_level;
}
void log_set_prefix(int on) {
        prefix = on;
}
void log_set_ident(const char *id) {
        ident = id;
}

static int want_prefix(void) {
        if (prefix < 0)
                prefix = getenv("JOURNAL_STREAM") || !isatty(STDERR_FILENO);
        return prefix;
}

int log_internal(int level, int err, const char *file, int line, const char *fmt, ...) {
        char buf[2048], fmt2[1024];
        int saved = errno;
        va_list ap;

        (void) file;
        (void) line;
        if (err < 0)
                err = -err;
        if ((level & LOG_PRIMASK) > max_level)
                goto out;

        /* Expand %m ourselves from err (not errno), leaving every other directive to vsnprintf. */
        const char *s = fmt;
        size_t o = 0;
        while (*s && o < sizeof(fmt2) - 1) {
                if (s[0] == '%' && s[1] == '%') {
                        if (o + 2 >= sizeof(fmt2) - 1)
                                break;
                        fmt2[o++] = '%';
                        fmt2[o++] = '%';
                        s += 2;
                } else if (s[0] == '%' && s[1] == 'm') {
                        const char *e = strerror(err ? err : saved);
                        for (; *e && o < sizeof(fmt2) - 2; e++) {
                                if (*e == '%')
                                        fmt2[o++] = '%';
                                fmt2[o++] = *e;
                        }
                        s += 2;
                } else
                        fmt2[o++] = *s++;
        }
        fmt2[o] = 0;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt2, ap);
        va_end(ap);

        if (want_prefix())
                fprintf(stderr, "<%d>%s\n", level & LOG_PRIMASK, buf);
        else if (ident)
                fprintf(stderr, "%s: %s\n", ident, buf);
        else
                fprintf(stderr, "%s\n", buf);
out:
        errno = saved;
        return -err;
}

int ratelimit_below(struct ratelimit *rl) {
        unsigned long long now = now_usec(CLOCK_MONOTONIC);

        if (rl->begin_usec == 0 || now - rl->begin_usec >= rl->interval_usec) {
                rl->begin_usec = now;
                rl->num = 0;
        }
        if (rl->num < rl->burst) {
                rl->num++;
                return 1;
        }
        rl->suppressed++;
        return 0;
}
