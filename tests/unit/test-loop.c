/* test-loop.c — the event loop: io, monotonic timers (one-shot, interval, re-arm, disarm),
 * wall-clock alignment, signals through signalfd, freeing sources during dispatch, exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#include "loop.h"
#include "util.h"

/* ---- helpers ---- */

static bool fcntl_ok(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

/* Every test arms this so a broken loop cannot hang the suite. */
static int guard_fn(struct loop_source *s, uint64_t exp, void *userdata) {
        (void) exp;
        (void) userdata;
        printf("#   guard timer fired: the loop did not stop in time\n");
        loop_exit(loop_source_loop(s), -ETIMEDOUT);
        return 0;
}
static void add_guard(struct loop *l, uint64_t usec) {
        CHECK_INT(loop_add_timer(l, usec, 0, guard_fn, NULL, NULL), 0);
}

struct counter {
        int n;
        int stop_at;
        uint64_t exp_total;
        uint64_t last_exp;
        uint64_t when[16]; /* CLOCK_MONOTONIC at each call */
        uint64_t rt[16];   /* CLOCK_REALTIME at each call */
};

static int count_timer(struct loop_source *s, uint64_t exp, void *userdata) {
        struct counter *c = userdata;

        if (c->n < (int) ELEMENTSOF(c->when)) {
                c->when[c->n] = now_usec(CLOCK_MONOTONIC);
                c->rt[c->n] = now_usec(CLOCK_REALTIME);
        }
        c->n++;
        c->exp_total += exp;
        c->last_exp = exp;
        if (c->stop_at && c->n >= c->stop_at)
                loop_exit(loop_source_loop(s), 0);
        return 0;
}

static int stop_timer(struct loop_source *s, uint64_t exp, void *userdata) {
        (void) exp;
        (void) userdata;
        loop_exit(loop_source_loop(s), 0);
        return 0;
}

/* ---- tests ---- */

static void test_new_free(void) {
        struct loop *l = NULL;

        CHECK_INT(loop_new(&l), 0);
        CHECK(l != NULL);
        CHECK(loop_free(l) == NULL);
        CHECK(loop_free(NULL) == NULL);
        loop_source_free(NULL);
        CHECK(loop_source_loop(NULL) == NULL);
}

static void test_oneshot_timer(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        struct counter c = {.stop_at = 1};
        struct loop_source *s = NULL;
        uint64_t t0;

        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 2 * USEC_PER_SEC);
        t0 = now_usec(CLOCK_MONOTONIC);
        CHECK_INT(loop_add_timer(l, 20 * USEC_PER_MSEC, 0, count_timer, &c, &s), 0);
        CHECK(loop_source_loop(s) == l);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(c.n, 1);
        CHECK_INT(c.last_exp, 1);
        CHECK(c.when[0] - t0 >= 20 * USEC_PER_MSEC);
        CHECK(c.when[0] - t0 < 500 * USEC_PER_MSEC);

        /* It stays disarmed after firing: a later short timer stops the loop, count stays 1. */
        CHECK_INT(loop_add_timer(l, 60 * USEC_PER_MSEC, 0, stop_timer, NULL, NULL), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(c.n, 1);

        /* Re-armed with loop_timer_set, it fires again. */
        c.stop_at = 2;
        CHECK_INT(loop_timer_set(s, 10 * USEC_PER_MSEC, 0), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(c.n, 2);
}

static void test_interval_timer(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        struct counter c = {.stop_at = 5};
        uint64_t t0;

        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 3 * USEC_PER_SEC);
        t0 = now_usec(CLOCK_MONOTONIC);
        CHECK_INT(loop_add_timer(l, 10 * USEC_PER_MSEC, 20 * USEC_PER_MSEC, count_timer, &c, NULL), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(c.n, 5);
        /* 10 + 4*20 = 90 ms at the earliest */
        CHECK(c.when[4] - t0 >= 90 * USEC_PER_MSEC);
        for (int i = 1; i < 5; i++)
                CHECK(c.when[i] - c.when[i - 1] >= 10 * USEC_PER_MSEC);
}

static int block_timer(struct loop_source *s, uint64_t exp, void *userdata) {
        struct counter *c = userdata;

        count_timer(s, exp, userdata);
        if (c->n == 1)
                usleep(120 * 1000); /* miss about five 20 ms ticks */
        return 0;
}

static void test_missed_ticks_reported(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        struct counter c = {.stop_at = 2};

        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 3 * USEC_PER_SEC);
        CHECK_INT(loop_add_timer(l, 20 * USEC_PER_MSEC, 20 * USEC_PER_MSEC, block_timer, &c, NULL), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(c.n, 2);
        CHECK(c.last_exp >= 4); /* expirations > 1: the daemon can log missed periods */
        CHECK(c.exp_total == 1 + c.last_exp);
}

static void test_disarmed_timer(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        struct counter c = {0};
        struct loop_source *s;

        CHECK_INT(loop_new(&l), 0);
        CHECK_INT(loop_add_timer(l, 0, 10 * USEC_PER_MSEC, count_timer, &c, &s), 0);
        CHECK_INT(loop_add_timer(l, 80 * USEC_PER_MSEC, 0, stop_timer, NULL, NULL), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(c.n, 0);
        /* disarm a running interval timer */
        c.stop_at = 0;
        CHECK_INT(loop_timer_set(s, 5 * USEC_PER_MSEC, 5 * USEC_PER_MSEC), 0);
        usleep(30 * 1000);
        CHECK_INT(loop_timer_set(s, 0, 0), 0);
        CHECK_INT(loop_add_timer(l, 50 * USEC_PER_MSEC, 0, stop_timer, NULL, NULL), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(c.n, 0); /* disarming also drops expirations not yet read */
}

static void test_wallclock_alignment(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        struct counter c = {.stop_at = 3};

        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 3 * USEC_PER_SEC);
        /* every 200 ms on the 200 ms wall-clock grid + 50 ms */
        CHECK_INT(loop_add_wallclock_timer(l, 200 * USEC_PER_MSEC, 50 * USEC_PER_MSEC, count_timer,
                                           &c, NULL),
                  0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(c.n, 3);
        for (int i = 0; i < 3; i++) {
                uint64_t phase = (c.rt[i] - 50 * USEC_PER_MSEC) % (200 * USEC_PER_MSEC);
                printf("#   tick %d: %llu us after the grid point\n", i, (unsigned long long) phase);
                CHECK(phase <= 5 * USEC_PER_MSEC); /* within a few ms after the grid point */
        }
        CHECK_INT(loop_add_wallclock_timer(l, 0, 0, count_timer, &c, NULL), -EINVAL);
}

static void test_wallclock_second(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        struct counter c = {.stop_at = 1};

        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 3 * USEC_PER_SEC);
        CHECK_INT(loop_add_wallclock_timer(l, USEC_PER_SEC, 0, count_timer, &c, NULL), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK(c.rt[0] % USEC_PER_SEC <= 5 * USEC_PER_MSEC);
        CHECK_INT(c.last_exp, 1);
}

struct sigstate {
        int got[4];
        int n;
};
static int on_signal(struct loop_source *s, int signo, void *userdata) {
        struct sigstate *st = userdata;

        if (st->n < 4)
                st->got[st->n] = signo;
        st->n++;
        if (signo == SIGTERM)
                loop_exit(loop_source_loop(s), 42);
        return 0;
}

static void test_signals(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        static const int sigs[] = {SIGUSR1, SIGTERM, 0};
        struct sigstate st = {0};
        sigset_t cur;

        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 2 * USEC_PER_SEC);
        CHECK_INT(loop_add_signals(l, sigs, on_signal, &st, NULL), 0);
        CHECK_INT(pthread_sigmask(SIG_SETMASK, NULL, &cur), 0);
        CHECK(sigismember(&cur, SIGUSR1) == 1);
        CHECK(sigismember(&cur, SIGTERM) == 1);
        /* delivered through the signalfd, not a handler: the process survives SIGTERM */
        CHECK_INT(kill(getpid(), SIGUSR1), 0);
        CHECK_INT(kill(getpid(), SIGTERM), 0);
        CHECK_INT(loop_run(l), 42);
        CHECK_INT(st.n, 2);
        CHECK(st.got[0] == SIGUSR1 || st.got[1] == SIGUSR1);
        CHECK(st.got[0] == SIGTERM || st.got[1] == SIGTERM);
        CHECK_INT(loop_add_signals(l, NULL, on_signal, &st, NULL), -EINVAL);
}

struct pipe_ctx {
        int n;
        char buf[16];
};
static int on_read(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct pipe_ctx *p = userdata;
        ssize_t k;

        CHECK(revents & EPOLLIN);
        k = read(fd, p->buf, sizeof(p->buf) - 1);
        if (k > 0)
                p->buf[k] = '\0';
        p->n++;
        loop_exit(loop_source_loop(s), 0);
        return 0;
}

static void test_io(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        struct pipe_ctx p = {0};
        struct loop_source *s;
        int fds[2];

        CHECK_INT(pipe(fds), 0);
        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 2 * USEC_PER_SEC);
        CHECK_INT(loop_add_io(l, fds[0], EPOLLIN, on_read, &p, &s), 0);
        CHECK_INT(write(fds[1], "hello", 5), 5);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(p.n, 1);
        CHECK_STR(p.buf, "hello");

        /* events 0: nothing delivered though data waits */
        CHECK_INT(loop_source_set_events(s, 0), 0);
        CHECK_INT(write(fds[1], "x", 1), 1);
        CHECK_INT(loop_add_timer(l, 50 * USEC_PER_MSEC, 0, stop_timer, NULL, NULL), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(p.n, 1);
        CHECK_INT(loop_source_set_events(s, EPOLLIN), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(p.n, 2);

        /* the same fd twice is refused; the loop does not close io fds */
        CHECK_INT(loop_add_io(l, fds[0], EPOLLIN, on_read, &p, NULL), -EEXIST);
        loop_source_free(s);
        CHECK(fcntl_ok(fds[0]));
        close(fds[0]);
        close(fds[1]);
}

/* Two readable pipes in one epoll batch: the first callback frees the other source (whose event
 * is already in the batch) and itself. Neither may be called afterwards. */
struct pair {
        struct loop_source *a, *b;
        int calls_a, calls_b;
};
static int pair_cb(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct pair *p = userdata;
        (void) fd;
        (void) revents;

        if (s == p->a)
                p->calls_a++;
        else
                p->calls_b++;
        /* free the other one first, then ourselves */
        loop_source_free(s == p->a ? p->b : p->a);
        loop_source_free(s);
        loop_source_free(s); /* a second free of a dead source is harmless */
        return 0;
}

static void test_free_during_dispatch(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        struct pair p = {0};
        int a[2], b[2];

        CHECK_INT(pipe(a), 0);
        CHECK_INT(pipe(b), 0);
        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 2 * USEC_PER_SEC);
        CHECK_INT(loop_add_io(l, a[0], EPOLLIN, pair_cb, &p, &p.a), 0);
        CHECK_INT(loop_add_io(l, b[0], EPOLLIN, pair_cb, &p, &p.b), 0);
        CHECK_INT(write(a[1], "1", 1), 1);
        CHECK_INT(write(b[1], "1", 1), 1);
        CHECK_INT(loop_add_timer(l, 50 * USEC_PER_MSEC, 0, stop_timer, NULL, NULL), 0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(p.calls_a + p.calls_b, 1);
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
}

/* A timer freeing itself from its own callback, and adding a new source from a callback. */
static int self_free_timer(struct loop_source *s, uint64_t exp, void *userdata) {
        int *n = userdata;
        (void) exp;

        (*n)++;
        CHECK_INT(loop_add_timer(loop_source_loop(s), 10 * USEC_PER_MSEC, 0, stop_timer, NULL, NULL),
                  0);
        loop_source_free(s);
        return 0;
}

static void test_self_free_and_add(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;
        int n = 0;

        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 2 * USEC_PER_SEC);
        CHECK_INT(loop_add_timer(l, 5 * USEC_PER_MSEC, 5 * USEC_PER_MSEC, self_free_timer, &n, NULL),
                  0);
        CHECK_INT(loop_run(l), 0);
        CHECK_INT(n, 1);
}

static int fail_timer(struct loop_source *s, uint64_t exp, void *userdata) {
        (void) s;
        (void) exp;
        (void) userdata;
        return -EPROTO;
}

static void test_callback_error_stops(void) {
        _cleanup_(loop_freep) struct loop *l = NULL;

        CHECK_INT(loop_new(&l), 0);
        add_guard(l, 2 * USEC_PER_SEC);
        CHECK_INT(loop_add_timer(l, 5 * USEC_PER_MSEC, 0, fail_timer, NULL, NULL), 0);
        CHECK_INT(loop_run(l), -EPROTO);
        /* loop_exit before run: returns at once with that code */
        loop_exit(l, 7);
        CHECK_INT(loop_run(l), 7);
}

static void test_free_with_live_sources(void) {
        struct loop *l = NULL;
        int fds[2];

        /* loop_free releases timers, signals and io sources, and leaves io fds open */
        static const int sigs[] = {SIGUSR2, 0};
        CHECK_INT(pipe(fds), 0);
        CHECK_INT(loop_new(&l), 0);
        CHECK_INT(loop_add_timer(l, USEC_PER_SEC, USEC_PER_SEC, fail_timer, NULL, NULL), 0);
        CHECK_INT(loop_add_wallclock_timer(l, USEC_PER_SEC, 0, fail_timer, NULL, NULL), 0);
        CHECK_INT(loop_add_signals(l, sigs, on_signal, NULL, NULL), 0);
        CHECK_INT(loop_add_io(l, fds[0], EPOLLIN, on_read, NULL, NULL), 0);
        loop_free(l);
        CHECK_INT(write(fds[1], "x", 1), 1);
        CHECK(fcntl_ok(fds[0]));
        close(fds[0]);
        close(fds[1]);
}

int main(void) {
        RUN(test_new_free);
        RUN(test_oneshot_timer);
        RUN(test_interval_timer);
        RUN(test_missed_ticks_reported);
        RUN(test_disarmed_timer);
        RUN(test_wallclock_alignment);
        RUN(test_wallclock_second);
        RUN(test_signals);
        RUN(test_io);
        RUN(test_free_during_dispatch);
        RUN(test_self_free_and_add);
        RUN(test_callback_error_stops);
        RUN(test_free_with_live_sources);
        return TAP_END();
}
