/* test-rds.c — the deadline-bounded Redis writer (cg-accountd/rds.c) against a scripted fake server
 * in a thread on a loopback port: AUTH, pipelining, error replies, refused connections with
 * backoff, and a server that never answers (the call must come back within its budget). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rds.h"
#include "tap.h"
#include "util.h"

/* ---- the fake server ---- */
static int srv_fd = -1;
static unsigned srv_port;
static atomic_int srv_stop, srv_silent, srv_accepts, srv_commands;
static char srv_last_auth[64];
static pthread_t srv_thread;

/* Parses one RESP array of bulk strings from buf[0..len): returns bytes used, 0 if incomplete.
 * argv0/argv1 get the first two arguments (truncated). */
static size_t resp_parse(const char *buf, size_t len, char *argv0, char *argv1, size_t cap) {
        const char *p = buf, *end = buf + len;
        long n;
        char *e;

        if (len < 4 || *p != '*')
                return 0;
        n = strtol(p + 1, &e, 10);
        if (e + 2 > end)
                return 0;
        p = e + 2;
        argv0[0] = argv1[0] = '\0';
        for (long i = 0; i < n; i++) {
                long l;
                if (p >= end || *p != '$')
                        return 0;
                l = strtol(p + 1, &e, 10);
                if (e + 2 > end)
                        return 0;
                p = e + 2;
                if (p + l + 2 > end)
                        return 0;
                if (i < 2) {
                        char *dst = i == 0 ? argv0 : argv1;
                        size_t k = (size_t) l < cap - 1 ? (size_t) l : cap - 1;
                        memcpy(dst, p, k);
                        dst[k] = '\0';
                }
                p += l + 2;
        }
        return (size_t) (p - buf);
}

static void serve(int c) {
        char buf[65536];
        size_t len = 0;

        while (!srv_stop) {
                struct pollfd pfd = {.fd = c, .events = POLLIN};
                ssize_t k;
                size_t used;
                char a0[64], a1[64];

                if (poll(&pfd, 1, 20) <= 0)
                        continue;
                k = read(c, buf + len, sizeof(buf) - len);
                if (k <= 0)
                        return;
                len += (size_t) k;
                while ((used = resp_parse(buf, len, a0, a1, sizeof(a0))) > 0) {
                        const char *ans;
                        memmove(buf, buf + used, len - used);
                        len -= used;
                        srv_commands++;
                        if (srv_silent)
                                continue;
                        if (strcmp(a0, "AUTH") == 0) {
                                snprintf(srv_last_auth, sizeof(srv_last_auth), "%s", a1);
                                ans = strcmp(a1, "secret") == 0 ? "+OK\r\n"
                                                                : "-WRONGPASS invalid password\r\n";
                        } else if (strcmp(a0, "PUBLISH") == 0)
                                ans = ":0\r\n";
                        else if (strcmp(a0, "FAIL") == 0)
                                ans = "-ERR boom\r\n";
                        else
                                ans = "+OK\r\n";
                        if (write(c, ans, strlen(ans)) < 0)
                                return;
                }
        }
}

static void *srv_main(void *arg) {
        (void) arg;
        while (!srv_stop) {
                struct pollfd pfd = {.fd = srv_fd, .events = POLLIN};
                int c;
                if (poll(&pfd, 1, 20) <= 0)
                        continue;
                c = accept(srv_fd, NULL, NULL);
                if (c < 0)
                        continue;
                srv_accepts++;
                serve(c);
                close(c);
        }
        return NULL;
}

static int srv_start(void) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof(a);

        srv_fd = socket(AF_INET, SOCK_STREAM, 0);
        if (srv_fd < 0 || bind(srv_fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
            listen(srv_fd, 8) < 0 || getsockname(srv_fd, (struct sockaddr *) &a, &l) < 0)
                return -1;
        srv_port = ntohs(a.sin_port);
        return pthread_create(&srv_thread, NULL, srv_main, NULL);
}

static void srv_stop_all(void) {
        srv_stop = 1;
        pthread_join(srv_thread, NULL);
        close(srv_fd);
}

/* A port with nothing listening: bind, read the port, close. */
static unsigned dead_port(void) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        unsigned p;
        bind(fd, (struct sockaddr *) &a, sizeof(a));
        getsockname(fd, (struct sockaddr *) &a, &l);
        p = ntohs(a.sin_port);
        close(fd);
        return p;
}

/* ---- tests ---- */

static void test_backoff(void) {
        uint64_t min = 250000, max = 1000000;
        CHECK(rds_backoff_next(0, min, max) == 250000);
        CHECK(rds_backoff_next(250000, min, max) == 500000);
        CHECK(rds_backoff_next(500000, min, max) == 1000000);
        CHECK(rds_backoff_next(1000000, min, max) == 1000000);
        CHECK(rds_backoff_next(UINT64_MAX, min, max) == 1000000);
        CHECK(rds_backoff_next(1, min, max) == 250000);
}

/* Fills a command from NUL-terminated strings (NULL-terminated list); -E2BIG when more than
 * RDS_ARGV_MAX. */
static int rds_cmd_set(struct rds_cmd *c, const char *const *argv) {
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

static void test_options(void) {
        struct rds *r = NULL;
        CHECK_INT(rds_new(&(struct rds_options){.host = "", .port = 1}, &r), -EINVAL);
        CHECK_INT(rds_new(&(struct rds_options){.host = "127.0.0.1", .port = 0}, &r), -EINVAL);
        CHECK_INT(rds_new(&(struct rds_options){.host = "127.0.0.1", .port = 70000}, &r), -EINVAL);
        CHECK(r == NULL);
        struct rds_cmd c;
        const char *too_many[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
        CHECK_INT(rds_cmd_set(&c, too_many), -E2BIG);
}

static void pipeline3(struct rds_cmd cmds[3], const char *first) {
        rds_cmd_set(&cmds[0], (const char *[]){first, "k", "v", "EX", "300", NULL});
        rds_cmd_set(&cmds[1], (const char *[]){"SET", "k2", "v2", NULL});
        rds_cmd_set(&cmds[2], (const char *[]){"PUBLISH", "ch", "1", NULL});
}

static void test_auth_and_pipeline(void) {
        _cleanup_(rds_freep) struct rds *r = NULL;
        struct rds_cmd cmds[3];

        CHECK_INT(rds_new(&(struct rds_options){.host = "127.0.0.1",
                                                .port = srv_port,
                                                .password = "secret"},
                          &r),
                  0);
        CHECK(!rds_is_connected(r));
        pipeline3(cmds, "SET");
        srv_commands = 0;
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), 0);
        CHECK(rds_is_connected(r));
        CHECK_STR(srv_last_auth, "secret");
        CHECK_INT(srv_commands, 4); /* AUTH + 3 */
        CHECK(rds_take_reconnected(r));
        CHECK(!rds_take_reconnected(r));
        /* same connection next time, no AUTH again */
        int accepts = srv_accepts;
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), 0);
        CHECK_INT(srv_accepts, accepts);
        CHECK_INT(srv_commands, 7);
        /* an error reply: -EPROTO with the text, and the connection stays in sync */
        pipeline3(cmds, "FAIL");
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), -EPROTO);
        CHECK(strstr(rds_last_error(r), "ERR boom") != NULL);
        CHECK(rds_is_connected(r));
        pipeline3(cmds, "SET");
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), 0);
        CHECK_STR(rds_last_error(r), "");
        CHECK_INT(srv_accepts, accepts);
}

static void test_wrong_password(void) {
        _cleanup_(rds_freep) struct rds *r = NULL;
        struct rds_cmd cmds[3];

        CHECK_INT(rds_new(&(struct rds_options){.host = "127.0.0.1",
                                                .port = srv_port,
                                                .password = "nope",
                                                .backoff_min_usec = 50000},
                          &r),
                  0);
        pipeline3(cmds, "SET");
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), -EACCES);
        CHECK(strstr(rds_last_error(r), "WRONGPASS") != NULL);
        CHECK(!rds_is_connected(r));
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), -EAGAIN); /* in backoff */
}

/* The backoff's clock, stepped by hand: the waits are checked to the microsecond, whatever the
 * machine's load. */
static uint64_t fake_now_usec = 1000000;
static uint64_t fake_now(void) {
        return fake_now_usec;
}

static void test_refused_and_backoff(void) {
        _cleanup_(rds_freep) struct rds *r = NULL;
        struct rds_cmd cmds[3];

        CHECK_INT(rds_new(&(struct rds_options){.host = "127.0.0.1",
                                                .port = dead_port(),
                                                .backoff_min_usec = 50000,
                                                .backoff_max_usec = 100000,
                                                .now = fake_now},
                          &r),
                  0);
        pipeline3(cmds, "SET");
        CHECK_INT(rds_pipeline(r, cmds, 3, 1000000), -ECONNREFUSED);
        CHECK(strstr(rds_last_error(r), "refused") != NULL);
        CHECK_INT(rds_pipeline(r, cmds, 3, 1000000), -EAGAIN);
        fake_now_usec += 49999;
        CHECK_INT(rds_pipeline(r, cmds, 3, 1000000), -EAGAIN); /* 1 us short of 50 ms */
        fake_now_usec += 1;
        CHECK_INT(rds_pipeline(r, cmds, 3, 1000000), -ECONNREFUSED); /* tried again at 50 ms */
        fake_now_usec += 99999;
        CHECK_INT(rds_pipeline(r, cmds, 3, 1000000), -EAGAIN); /* the wait doubled: 100 ms */
        fake_now_usec += 1;
        CHECK_INT(rds_pipeline(r, cmds, 3, 1000000), -ECONNREFUSED);
        fake_now_usec += 99999;
        CHECK_INT(rds_pipeline(r, cmds, 3, 1000000), -EAGAIN); /* capped at 100 ms */
        fake_now_usec += 1;
        CHECK_INT(rds_pipeline(r, cmds, 3, 1000000), -ECONNREFUSED);
        CHECK(!rds_is_connected(r));
}

static uint64_t time_factor(void) {
        const char *e = getenv("CGARCH_TIME_FACTOR");
        int f = e ? atoi(e) : 1;

        return f > 0 ? (uint64_t) f : 1;
}

static void test_silent_server(void) {
        _cleanup_(rds_freep) struct rds *r = NULL;
        struct rds_cmd cmds[3];
        uint64_t t0, dt;

        CHECK_INT(rds_new(&(struct rds_options){.host = "127.0.0.1", .port = srv_port}, &r), 0);
        pipeline3(cmds, "SET");
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), 0);
        srv_silent = 1;
        t0 = now_usec(CLOCK_MONOTONIC);
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), -ETIMEDOUT);
        dt = now_usec(CLOCK_MONOTONIC) - t0;
        printf("# silent server: gave up after %llu us\n", (unsigned long long) dt);
        /* Gives up at the deadline: never before it, and not seconds after it (hiredis alone
         * would wait forever). The upper slack is scheduling delay, which a loaded machine
         * (or the sanitizer pass, CGARCH_TIME_FACTOR) stretches: 174 ms was seen at load 20. */
        CHECK(dt >= 90000 && dt < 100000 + 400000 * time_factor());
        CHECK(!rds_is_connected(r));
        srv_silent = 0;
        /* lost connection: reconnect at once, no backoff */
        CHECK_INT(rds_pipeline(r, cmds, 3, 100000), 0);
        CHECK(rds_take_reconnected(r));
}

int main(void) {
        if (srv_start() < 0) {
                printf("not ok 1 - fake server could not start\n");
                return 1;
        }
        RUN(test_backoff);
        RUN(test_options);
        RUN(test_auth_and_pipeline);
        RUN(test_wrong_password);
        RUN(test_refused_and_backoff);
        RUN(test_silent_server);
        srv_stop_all();
        return TAP_END();
}
