/* rds.h — a small Redis client for the daemons that write (cg-accountd): one blocking hiredis
 * connection whose every operation is bounded by a deadline, AUTH, pipelined commands, and
 * reconnection with backoff. Returns >= 0 or -errno; never logs (rds_last_error() says why).
 *
 * Why blocking with deadlines and not hiredis' async API: the writer sends one pipeline per
 * second and needs its answer before the next; a deadline (socket timeouts re-armed to what is
 * left before every blocking step) bounds a tick's wait exactly, keeps no queue that could grow
 * while Redis is away, and needs no adapter to the event loop. Redis slower than the budget is
 * treated like Redis away: the connection is dropped (a half-read pipeline cannot be resumed)
 * and reopened after the backoff.
 *
 * hiredis is 0.14.1: there is no redisConnectWithOptions, and redisReconnect() forgets the
 * read timeout; this module never reconnects in place: it frees the context and connects anew,
 * and sets the timeouts before every blocking call anyway. The host should be an address:
 * a name is resolved with getaddrinfo(), which no deadline bounds. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct rds_options {
        const char *host; /* copied */
        unsigned port;
        const char *password;      /* copied; NULL or "" = no AUTH */
        uint64_t backoff_min_usec; /* first wait after a failed connect; 0 -> 250 ms */
        uint64_t backoff_max_usec; /* cap of the doubling; 0 -> 1 s */
        /* The clock the backoff is measured on, in usec; NULL -> CLOCK_MONOTONIC. Tests step
         * it by hand. The deadlines of real I/O (budget_usec) always run on CLOCK_MONOTONIC. */
        uint64_t (*now)(void);
};

/* A command: argv[0..argc) with explicit lengths (binary safe). Borrowed by rds_pipeline. */
#define RDS_ARGV_MAX 8
struct rds_cmd {
        int argc;
        const char *argv[RDS_ARGV_MAX];
        size_t argvlen[RDS_ARGV_MAX];
};

struct rds;
/* Does not connect: the first rds_pipeline() does. */
int rds_new(const struct rds_options *o, struct rds **ret);
struct rds *rds_free(struct rds *r);
DEFINE_CLEANUP_FUNC(struct rds, rds_free)

/* Sends n commands in one write and reads their n replies, all within budget_usec (connect and
 * AUTH included when not connected). Returns 0 when every reply is a non-error; -EAGAIN without
 * touching the network while waiting out the backoff after a failed connect; -EPROTO when Redis
 * answered one of them with an error (the connection stays); -ETIMEDOUT, -ECONNREFUSED,
 * -ECONNRESET, ... when the connection failed (it is then closed). */
int rds_pipeline(struct rds *r, const struct rds_cmd *cmds, size_t n, uint64_t budget_usec);

bool rds_is_connected(const struct rds *r);
/* True once after each new connection: lets the caller re-send state Redis may have lost. */
bool rds_take_reconnected(struct rds *r);
/* What went wrong last ("Connection refused", "AUTH: WRONGPASS ..."); "" if nothing. Borrowed. */
const char *rds_last_error(const struct rds *r);
/* Closes the connection (next rds_pipeline reconnects without waiting for a backoff). */
void rds_disconnect(struct rds *r);

/* Pure: the wait after a failed connect following a wait of prev (0 for the first failure). */
uint64_t rds_backoff_next(uint64_t prev, uint64_t min, uint64_t max);
