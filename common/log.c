/* log.c — see log.h.
 *
 * Threads: the ZooKeeper client's threads log too (through the daemons' zk log handlers), so a
 * message is formatted on the caller's stack and written with one writev(2) of its whole line:
 * no shared buffer, no lock, lines never interleave. The line's prefix ("<N>" for journald, or
 * "ident: ") is decided at setup (log_set_ident/log_set_prefix, called from main() before any
 * thread starts); a program that never sets up decides once, through pthread_once. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int max_level = LOG_INFO;
static int prefix = -1; /* -1: not decided yet */
static const char *ident;
static pthread_once_t prefix_once = PTHREAD_ONCE_INIT;

static void prefix_decide(void) {
        if (prefix < 0)
                prefix = getenv("JOURNAL_STREAM") || !isatty(STDERR_FILENO);
}

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
        prefix_decide();
}

int log_internal(int level, int err, const char *file, int line, const char *fmt, ...) {
        char buf[2048], head[64], *heap = NULL, *msg = buf;
        int saved = errno, n;
        struct iovec iov[3];
        va_list ap;

        (void) file;
        (void) line;
        if (err < 0)
                err = -err;
        if ((level & LOG_PRIMASK) > max_level)
                goto out;
        (void) pthread_once(&prefix_once, prefix_decide);

        /* glibc's printf expands %m from errno: point it at err (or keep the caller's errno). */
        errno = err ?: saved;
        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n < 0) {
                msg = (char *) fmt; /* a broken format: say at least what was meant */
                n = (int) strlen(fmt);
        } else if ((size_t) n >= sizeof(buf)) {
                /* Longer than the stack buffer (a big conf error list, say): format it once
                 * more at its full size. Only out of memory cuts it, and then visibly. */
                heap = malloc((size_t) n + 1);
                if (heap) {
                        errno = err ?: saved;
                        va_start(ap, fmt);
                        (void) vsnprintf(heap, (size_t) n + 1, fmt, ap);
                        va_end(ap);
                        msg = heap;
                } else {
                        memcpy(buf + sizeof(buf) - 5, "...", 4);
                        n = (int) sizeof(buf) - 2;
                }
        }

        if (prefix)
                snprintf(head, sizeof(head), "<%d>", level & LOG_PRIMASK);
        else if (ident)
                snprintf(head, sizeof(head), "%s: ", ident);
        else
                head[0] = 0;
        iov[0] = (struct iovec){.iov_base = head, .iov_len = strlen(head)};
        iov[1] = (struct iovec){.iov_base = msg, .iov_len = (size_t) n};
        iov[2] = (struct iovec){.iov_base = (char *) "\n", .iov_len = 1};
        /* Nowhere to report a failed write of the log itself; glibc's fortify wants it read. */
        if (writev(STDERR_FILENO, iov, 3) < 0)
                errno = saved;
        free(heap);
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
