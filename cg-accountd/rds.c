/* rds.c — the deadline-bounded blocking Redis writer (see rds.h for the why). */
#include "rds.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "util.h"

#define RDS_MIN_STEP_USEC 1000ULL /* a 0 timeval means "no timeout" to the kernel: never pass it   \
                                   */

struct rds {
        char *host;
        unsigned port;
        char *password;
        uint64_t backoff_min, backoff_max;
        redisContext *c;   /* NULL while disconnected; owned */
        uint64_t backoff;  /* current wait after a failed connect; 0 after success */
        uint64_t next_try; /* CLOCK_MONOTONIC usec before which we do not connect */
        bool reconnected;
        char err[256];
};

uint64_t rds_backoff_next(uint64_t prev, uint64_t min, uint64_t max) {
        uint64_t v;

        if (prev == 0)
                v = min;
        else if (prev > UINT64_MAX / 2)
                v = max;
        else
                v = prev * 2;
        return MIN(MAX(v, min), max);
}

int rds_cmd_set(struct rds_cmd *c, const char *const *argv) {
        int n = 0;

        for (; argv[n]; n++) {
                if (n >= RDS_ARGV_MAX)
                        return -E2BIG;
                c->argv[n] = argv[n];
                c->argvlen[n] = strlen(argv[n]);
        }
        c->argc = n;
        return 0;
}

int rds_new(const struct rds_options *o, struct rds **ret) {
        struct rds *r;

        if (!o->host || !*o->host || o->port == 0 || o->port > 65535)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->host = strdup(o->host);
        r->password = o->password && *o->password ? strdup(o->password) : NULL;
        if (!r->host || (o->password && *o->password && !r->password)) {
                rds_free(r);
                return -ENOMEM;
        }
        r->port = o->port;
        r->backoff_min = o->backoff_min_usec ? o->backoff_min_usec : 250 * USEC_PER_MSEC;
        r->backoff_max =
                MAX(o->backoff_max_usec ? o->backoff_max_usec : USEC_PER_SEC, r->backoff_min);
        *ret = r;
        return 0;
}

void rds_disconnect(struct rds *r) {
        if (r->c) {
                redisFree(r->c);
                r->c = NULL;
        }
}

struct rds *rds_free(struct rds *r) {
        if (!r)
                return NULL;
        rds_disconnect(r);
        free(r->host);
        if (r->password) {
                explicit_bzero(r->password, strlen(r->password));
                free(r->password);
        }
        free(r);
        return NULL;
}

bool rds_is_connected(const struct rds *r) {
        return r->c != NULL;
}

bool rds_take_reconnected(struct rds *r) {
        bool v = r->reconnected;
        r->reconnected = false;
        return v;
}

const char *rds_last_error(const struct rds *r) {
        return r->err;
}

static struct timeval tv_from_usec(uint64_t usec) {
        usec = MAX(usec, RDS_MIN_STEP_USEC);
        return (struct timeval){.tv_sec = (time_t) (usec / USEC_PER_SEC),
                                .tv_usec = (suseconds_t) (usec % USEC_PER_SEC)};
}

/* Usec left before the deadline, or -ETIMEDOUT. */
static int remaining(uint64_t deadline, uint64_t *ret) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        if (now >= deadline)
                return -ETIMEDOUT;
        *ret = deadline - now;
        return 0;
}

/* Maps a failed context to -errno and remembers its text. saved_errno: errno right after. */
static int context_error(struct rds *r, const char *what, int saved_errno) {
        int e;

        switch (r->c ? r->c->err : REDIS_ERR_OTHER) {
        case REDIS_ERR_IO:
                e = saved_errno == EAGAIN || saved_errno == EWOULDBLOCK ||
                                    saved_errno == EINPROGRESS
                            ? -ETIMEDOUT
                            : (saved_errno > 0 ? -saved_errno : -EIO);
                break;
        case REDIS_ERR_EOF:
                e = -ECONNRESET;
                break;
        case REDIS_ERR_PROTOCOL:
                e = -EPROTO;
                break;
        case REDIS_ERR_OOM:
                e = -ENOMEM;
                break;
        default:
                e = -EIO;
        }
        snprintf(r->err, sizeof(r->err), "%s%s%s", what, *what ? ": " : "",
                 r->c && r->c->errstr[0] ? r->c->errstr : strerror(-e));
        if (e == -ETIMEDOUT && r->c && r->c->err == REDIS_ERR_IO)
                snprintf(r->err, sizeof(r->err), "%s%sno answer within the deadline", what,
                         *what ? ": " : "");
        return e;
}

/* A failed connection: drop it; the next connect may be tried at once (next tick). */
static int fail_connection(struct rds *r, const char *what, int saved_errno) {
        int e = context_error(r, what, saved_errno);
        rds_disconnect(r);
        return e;
}

/* A failed connect attempt: drop it and wait out a growing backoff. */
static int fail_connect(struct rds *r, const char *what, int saved_errno) {
        int e = fail_connection(r, what, saved_errno);
        r->backoff = rds_backoff_next(r->backoff, r->backoff_min, r->backoff_max);
        r->next_try = now_usec(CLOCK_MONOTONIC) + r->backoff;
        return e;
}

static int connect_now(struct rds *r, uint64_t deadline) {
        uint64_t left;
        int e;

        if (remaining(deadline, &left) < 0)
                return -ETIMEDOUT;
        errno = 0;
        /* A host that is a path is a unix socket ([redis] socket): one only the cgrouparch
         * users can open is how Redis is kept from other local users. */
        r->c = r->host[0] == '/' ? redisConnectUnixWithTimeout(r->host, tv_from_usec(left))
                                 : redisConnectWithTimeout(r->host, (int) r->port, tv_from_usec(left));
        e = errno;
        if (!r->c) {
                snprintf(r->err, sizeof(r->err), "connect: out of memory");
                return -ENOMEM;
        }
        if (r->c->err)
                return fail_connect(r, "connect", e);

        if (r->password) {
                const char *argv[] = {"AUTH", r->password};
                size_t len[] = {4, strlen(r->password)};
                redisReply *reply = NULL;

                if (remaining(deadline, &left) < 0 ||
                    redisSetTimeout(r->c, tv_from_usec(left)) != REDIS_OK) {
                        rds_disconnect(r);
                        snprintf(r->err, sizeof(r->err), "AUTH: no time left");
                        r->backoff = rds_backoff_next(r->backoff, r->backoff_min, r->backoff_max);
                        r->next_try = now_usec(CLOCK_MONOTONIC) + r->backoff;
                        return -ETIMEDOUT;
                }
                reply = redisCommandArgv(r->c, 2, argv, len);
                e = errno;
                if (!reply)
                        return fail_connect(r, "AUTH", e);
                if (reply->type == REDIS_REPLY_ERROR) {
                        snprintf(r->err, sizeof(r->err), "AUTH: %.*s", (int) MIN(reply->len, 200),
                                 reply->str);
                        freeReplyObject(reply);
                        rds_disconnect(r);
                        r->backoff = rds_backoff_next(r->backoff, r->backoff_min, r->backoff_max);
                        r->next_try = now_usec(CLOCK_MONOTONIC) + r->backoff;
                        return -EACCES;
                }
                freeReplyObject(reply);
        }
        r->backoff = 0;
        r->next_try = 0;
        r->reconnected = true;
        return 0;
}

int rds_pipeline(struct rds *r, const struct rds_cmd *cmds, size_t n, uint64_t budget_usec) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + budget_usec, left;
        bool reply_error = false;
        int e;

        if (!r->c) {
                if (now_usec(CLOCK_MONOTONIC) < r->next_try)
                        return -EAGAIN;
                e = connect_now(r, deadline);
                if (e < 0)
                        return e;
        }
        r->err[0] = '\0';

        for (size_t i = 0; i < n; i++)
                if (redisAppendCommandArgv(r->c, cmds[i].argc, (const char **) cmds[i].argv,
                                           cmds[i].argvlen) != REDIS_OK)
                        return fail_connection(r, "append", ENOMEM);

        for (size_t i = 0; i < n; i++) {
                redisReply *reply = NULL;

                if (remaining(deadline, &left) < 0) {
                        rds_disconnect(r);
                        snprintf(r->err, sizeof(r->err), "no answer within the deadline");
                        return -ETIMEDOUT;
                }
                if (redisSetTimeout(r->c, tv_from_usec(left)) != REDIS_OK)
                        return fail_connection(r, "timeout", errno);
                errno = 0;
                if (redisGetReply(r->c, (void **) &reply) != REDIS_OK || !reply)
                        return fail_connection(r, "", errno);
                if (reply->type == REDIS_REPLY_ERROR && !reply_error) {
                        reply_error = true;
                        snprintf(r->err, sizeof(r->err), "%s: %.*s", cmds[i].argv[0],
                                 (int) MIN(reply->len, 200), reply->str);
                }
                freeReplyObject(reply);
        }
        return reply_error ? -EPROTO : 0;
}
