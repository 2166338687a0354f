/* test-event.c — common/event: signals blocked and delivered through the loop, one-shot timers
 * (re-armed, turned off, re-armed from their callback), io sources, a callback failure stopping the
 * loop with its value, freeing a source from its own callback, and sd-event's watchdog pings to
 * NOTIFY_SOCKET when WATCHDOG_USEC is set. Every loop run has a guard timer, so a broken loop
 * fails the test instead of hanging it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tap.h"

#include "event.h"
#include "util.h"

static int guard_fn(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) usec;
        (void) userdata;
        printf("#   guard timer fired: the loop did not stop in time\n");
        return sd_event_exit(sd_event_source_get_event(s), -ETIMEDOUT);
}
/* Floating: freed with the loop. */
static void add_guard(sd_event *e, uint64_t usec) {
        CHECK(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, usec, 1, guard_fn, NULL) >= 0);
}

static int stop_fn(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) usec;
        (void) userdata;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

struct sigstate {
        int got[4];
        int n;
};

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct sigstate *st = userdata;

        if (st->n < 4)
                st->got[st->n++] = (int) si->ssi_signo;
        if (si->ssi_signo == SIGUSR2)
                return sd_event_exit(sd_event_source_get_event(s), 42);
        return 0;
}

static void test_signals(void) {
        static const int sigs[] = {SIGUSR1, SIGUSR2, 0};
        sd_event *e = NULL;
        struct sigstate st = {};
        sigset_t cur;

        CHECK_INT(event_new(NULL, on_signal, &st, &e), -EINVAL);
        CHECK_INT(event_new(sigs, NULL, &st, &e), -EINVAL);
        CHECK_INT(event_new(sigs, on_signal, &st, &e), 0);
        /* blocked in this thread: a raise() waits in the signalfd instead of killing us */
        CHECK_INT(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
        CHECK(sigismember(&cur, SIGUSR1) == 1);
        CHECK(sigismember(&cur, SIGUSR2) == 1);
        add_guard(e, 5 * USEC_PER_SEC);
        CHECK_INT(raise(SIGUSR1), 0);
        CHECK_INT(raise(SIGUSR2), 0);
        CHECK_INT(sd_event_loop(e), 42);
        CHECK_INT(st.n, 2);
        CHECK_INT(st.got[0], SIGUSR1);
        CHECK_INT(st.got[1], SIGUSR2);
        /* the signal sources are the loop's: freeing the loop frees them (valgrind/ASan see it) */
        CHECK(sd_event_unref(e) == NULL);
}

struct counter {
        int n;
        uint64_t rearm; /* re-arm from the callback this far ahead, while n < stop_at */
        int stop_at;
        uint64_t t[8];
};

static int count_fn(sd_event_source *s, uint64_t usec, void *userdata) {
        struct counter *c = userdata;

        (void) usec;
        if (c->n < 8)
                c->t[c->n] = now_usec(CLOCK_MONOTONIC);
        c->n++;
        if (c->stop_at && c->n >= c->stop_at)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        if (c->rearm)
                return event_timer_set(s, c->rearm);
        return 0;
}

/* Runs the loop for `usec` of monotonic time (an exited loop cannot run again). */
static void run_for(sd_event *e, uint64_t usec) {
        uint64_t end = now_usec(CLOCK_MONOTONIC) + usec, now;

        while ((now = now_usec(CLOCK_MONOTONIC)) < end)
                CHECK(sd_event_run(e, end - now) >= 0);
}

static void test_timer_oneshot(void) {
        sd_event *e = NULL;
        sd_event_source *s = NULL, *off = NULL;
        struct counter c = {}, c_off = {};
        uint64_t t0;

        CHECK_INT(sd_event_new(&e), 0);
        t0 = now_usec(CLOCK_MONOTONIC);
        CHECK_INT(event_add_timer(e, &s, 20 * USEC_PER_MSEC, 1, count_fn, &c), 0);
        /* armed at 0: off until set */
        CHECK_INT(event_add_timer(e, &off, 0, 1, count_fn, &c_off), 0);
        /* one-shot: fires once in 150 ms */
        run_for(e, 150 * USEC_PER_MSEC);
        CHECK_INT(c.n, 1);
        CHECK(c.t[0] - t0 >= 20 * USEC_PER_MSEC);
        /* re-armed, it fires again */
        CHECK_INT(event_timer_set(s, 10 * USEC_PER_MSEC), 0);
        run_for(e, 100 * USEC_PER_MSEC);
        CHECK_INT(c.n, 2);
        /* armed then turned off: it does not */
        CHECK_INT(event_timer_set(s, 10 * USEC_PER_MSEC), 0);
        CHECK_INT(event_timer_set(s, 0), 0);
        run_for(e, 80 * USEC_PER_MSEC);
        CHECK_INT(c.n, 2);
        CHECK_INT(c_off.n, 0);
        CHECK_INT(event_timer_set(NULL, 1), -EINVAL);
        sd_event_source_disable_unref(s);
        sd_event_source_disable_unref(off);
        sd_event_unref(e);
}

static void test_timer_periodic(void) {
        sd_event *e = NULL;
        sd_event_source *s = NULL;
        struct counter c = {.rearm = 10 * USEC_PER_MSEC, .stop_at = 5};

        CHECK_INT(sd_event_new(&e), 0);
        add_guard(e, 5 * USEC_PER_SEC);
        CHECK_INT(event_add_timer(e, &s, 10 * USEC_PER_MSEC, 1, count_fn, &c), 0);
        CHECK_INT(sd_event_loop(e), 0);
        CHECK_INT(c.n, 5);
        for (int i = 1; i < 5; i++)
                CHECK(c.t[i] - c.t[i - 1] >= 10 * USEC_PER_MSEC);
        sd_event_source_disable_unref(s);
        sd_event_unref(e);
}

static int fail_fn(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        (void) userdata;
        return -EPROTO;
}

struct pipe_state {
        int n;
        char got[16];
        bool fail;
        sd_event_source *self;
};

static int on_read(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct pipe_state *p = userdata;
        ssize_t n;

        CHECK(revents & EPOLLIN);
        n = read(fd, p->got, sizeof(p->got) - 1);
        p->got[n > 0 ? n : 0] = '\0';
        p->n++;
        if (p->fail)
                return -ENOMEM;
        /* freeing our own source from its callback is allowed (s is dead after it) */
        sd_event *e = sd_event_source_get_event(s);
        p->self = sd_event_source_disable_unref(p->self);
        return sd_event_exit(e, 0);
}

static void test_io_and_failure(void) {
        sd_event *e = NULL;
        sd_event_source *s = NULL;
        struct pipe_state p = {};
        int fds[2];

        /* a failing timer stops the loop with its value */
        CHECK_INT(sd_event_new(&e), 0);
        add_guard(e, 5 * USEC_PER_SEC);
        CHECK_INT(event_add_timer(e, &s, 5 * USEC_PER_MSEC, 1, fail_fn, NULL), 0);
        CHECK_INT(sd_event_loop(e), -EPROTO);
        sd_event_source_disable_unref(s);
        sd_event_unref(e);

        CHECK_INT(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
        e = NULL;
        CHECK_INT(sd_event_new(&e), 0);
        add_guard(e, 5 * USEC_PER_SEC);
        CHECK_INT(event_add_io(e, &p.self, fds[0], on_read, &p), 0);
        CHECK_INT(event_add_io(e, NULL, fds[0], on_read, &p), -EINVAL);
        CHECK_INT(write(fds[1], "hi", 2), 2);
        CHECK_INT(sd_event_loop(e), 0);
        CHECK_INT(p.n, 1);
        CHECK_STR(p.got, "hi");
        CHECK(p.self == NULL);
        sd_event_unref(e);

        /* a failing io callback stops the loop too; the fd stays ours */
        e = NULL;
        p = (struct pipe_state){.fail = true};
        CHECK_INT(sd_event_new(&e), 0);
        add_guard(e, 5 * USEC_PER_SEC);
        CHECK_INT(event_add_io(e, &s, fds[0], on_read, &p), 0);
        CHECK_INT(write(fds[1], "x", 1), 1);
        CHECK_INT(sd_event_loop(e), -ENOMEM);
        CHECK_INT(p.n, 1);
        sd_event_source_disable_unref(s);
        sd_event_unref(e);
        CHECK(fcntl(fds[0], F_GETFD) >= 0);
        close(fds[0]);
        close(fds[1]);
}

/* WATCHDOG_USEC set: the loop pings NOTIFY_SOCKET by itself, at least twice in a run of
 * 3 timeouts (sd-event pings between 1/2 and 3/4 of it). Without it: never. */
static int count_pings(int fd) {
        char buf[256];
        int n = 0;
        ssize_t k;

        while ((k = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
                buf[k] = '\0';
                if (strstr(buf, "WATCHDOG=1"))
                        n++;
        }
        return n;
}

static void test_watchdog(void) {
        static const int sigs[] = {SIGUSR1, 0};
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        char dir[] = "/tmp/test-event.XXXXXX", usec[32];
        struct sigstate st = {};
        sd_event *e = NULL;
        int fd;

        CHECK(mkdtemp(dir) != NULL);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        CHECK_INT(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        setenv("NOTIFY_SOCKET", sa.sun_path, 1);
        snprintf(usec, sizeof(usec), "%llu", (unsigned long long) (200 * USEC_PER_MSEC));
        setenv("WATCHDOG_USEC", usec, 1);
        unsetenv("WATCHDOG_PID");

        CHECK_INT(event_new(sigs, on_signal, &st, &e), 0);
        CHECK_INT(sd_event_get_watchdog(e), 1);
        CHECK(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 600 * USEC_PER_MSEC, 1, stop_fn,
                                         NULL) >= 0);
        CHECK_INT(sd_event_loop(e), 0);
        CHECK(count_pings(fd) >= 2);
        sd_event_unref(e);

        unsetenv("WATCHDOG_USEC");
        e = NULL;
        CHECK_INT(event_new(sigs, on_signal, &st, &e), 0);
        CHECK_INT(sd_event_get_watchdog(e), 0);
        CHECK(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 300 * USEC_PER_MSEC, 1, stop_fn,
                                         NULL) >= 0);
        CHECK_INT(sd_event_loop(e), 0);
        CHECK_INT(count_pings(fd), 0);
        sd_event_unref(e);

        unsetenv("NOTIFY_SOCKET");
        close(fd);
        unlink(sa.sun_path);
        rmdir(dir);
}

int main(void) {
        RUN(test_signals);
        RUN(test_timer_oneshot);
        RUN(test_timer_periodic);
        RUN(test_io_and_failure);
        RUN(test_watchdog);
        return TAP_END();
}
