/* loop.c — the event loop of every daemon (see loop.h): one epoll fd; timers are timerfds,
 * signals one signalfd per loop_add_signals() call.
 *
 * Source lifetime: a source can be freed from any callback, including its own and one of
 * another source of the same epoll batch whose event is still pending. While dispatching,
 * loop_source_free() only detaches the source (epoll_ctl DEL, closes its own fd, marks it dead)
 * and queues it; the memory is released after the batch, so a pending event never points to
 * freed memory (and a new source cannot reuse the address within the batch). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

#define LOOP_BATCH 64

enum loop_kind { LOOP_IO, LOOP_TIMER, LOOP_WALLCLOCK, LOOP_SIGNAL };

struct loop_source {
        struct loop *loop;
        enum loop_kind kind;
        int fd;         /* watched fd; owned by us for timers and signals */
        bool dead;      /* detached, waiting for the end of the batch */
        union {
                loop_io_fn io;
                loop_timer_fn timer;
                loop_signal_fn signal;
        } fn;
        void *userdata;
        uint64_t interval_usec, offset_usec; /* wallclock timers */
        struct loop_source *prev, *next;     /* l->sources, or l->dead when dead */
};

struct loop {
        int epfd;
        bool dispatching;
        bool exiting;
        int exit_code;
        struct loop_source *sources;
        struct loop_source *dead;
};

static void list_remove(struct loop_source **head, struct loop_source *s) {
        if (s->prev)
                s->prev->next = s->next;
        else
                *head = s->next;
        if (s->next)
                s->next->prev = s->prev;
        s->prev = s->next = NULL;
}

static void list_prepend(struct loop_source **head, struct loop_source *s) {
        s->prev = NULL;
        s->next = *head;
        if (*head)
                (*head)->prev = s;
        *head = s;
}

int loop_new(struct loop **ret) {
        struct loop *l = calloc(1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0) {
                int r = negative_errno();
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

static void source_detach(struct loop_source *s) {
        (void) epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL); /* EBADF if the caller
                                                                        already closed an io fd */
        if (s->kind != LOOP_IO && s->fd >= 0)
                (void) close(s->fd);
        s->fd = -1;
        s->dead = true;
}

static void free_dead(struct loop *l) {
        while (l->dead) {
                struct loop_source *s = l->dead;
                list_remove(&l->dead, s);
                free(s);
        }
}

struct loop *loop_free(struct loop *l) {
        if (!l)
                return NULL;
        while (l->sources) {
                struct loop_source *s = l->sources;
                list_remove(&l->sources, s);
                source_detach(s);
                free(s);
        }
        free_dead(l);
        if (l->epfd >= 0)
                (void) close(l->epfd);
        free(l);
        return NULL;
}

void loop_source_free(struct loop_source *s) {
        struct loop *l;

        if (!s || s->dead)
                return;
        l = s->loop;
        list_remove(&l->sources, s);
        source_detach(s);
        if (l->dispatching)
                list_prepend(&l->dead, s); /* freed after the batch */
        else
                free(s);
}

struct loop *loop_source_loop(struct loop_source *s) {
        return s ? s->loop : NULL;
}

static int source_add(struct loop *l, enum loop_kind kind, int fd, uint32_t events, void *userdata,
                      struct loop_source **ret) {
        struct loop_source *s;
        struct epoll_event ev = {.events = events};

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->loop = l;
        s->kind = kind;
        s->fd = fd;
        s->userdata = userdata;
        ev.data.ptr = s;
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = negative_errno();
                free(s);
                return r;
        }
        list_prepend(&l->sources, s);
        *ret = s;
        return 0;
}

int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata,
                struct loop_source **ret) {
        struct loop_source *s;
        int r;

        if (!l || fd < 0 || !fn)
                return -EINVAL;
        r = source_add(l, LOOP_IO, fd, events, userdata, &s);
        if (r < 0)
                return r;
        s->fn.io = fn;
        if (ret)
                *ret = s;
        return 0;
}

int loop_source_set_events(struct loop_source *s, uint32_t events) {
        struct epoll_event ev = {.events = events, .data.ptr = s};

        if (!s || s->dead || s->kind != LOOP_IO)
                return -EINVAL;
        if (epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
                return negative_errno();
        return 0;
}

static struct timespec usec_to_ts(uint64_t usec) {
        return (struct timespec){.tv_sec = (time_t) (usec / USEC_PER_SEC),
                                 .tv_nsec = (long) (usec % USEC_PER_SEC) * 1000L};
}

int loop_timer_set(struct loop_source *s, uint64_t first_usec, uint64_t interval_usec) {
        struct itimerspec its = {.it_value = usec_to_ts(first_usec),
                                 .it_interval = usec_to_ts(first_usec ? interval_usec : 0)};

        if (!s || s->dead || s->kind != LOOP_TIMER)
                return -EINVAL;
        if (timerfd_settime(s->fd, 0, &its, NULL) < 0)
                return negative_errno();
        return 0;
}

int loop_add_timer(struct loop *l, uint64_t first_usec, uint64_t interval_usec, loop_timer_fn fn,
                   void *userdata, struct loop_source **ret) {
        struct loop_source *s;
        int fd, r;

        if (!l || !fn)
                return -EINVAL;
        fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = source_add(l, LOOP_TIMER, fd, EPOLLIN, userdata, &s);
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        s->fn.timer = fn;
        r = loop_timer_set(s, first_usec, interval_usec);
        if (r < 0) {
                loop_source_free(s);
                return r;
        }
        if (ret)
                *ret = s;
        return 0;
}

/* Arms a wallclock timer at the next multiple of the interval (+ offset) strictly after now. */
static int wallclock_arm(struct loop_source *s) {
        uint64_t now = now_usec(CLOCK_REALTIME), iv = s->interval_usec, next;
        struct itimerspec its;

        next = (now - s->offset_usec % iv) / iv * iv + iv + s->offset_usec % iv;
        if (next <= now)
                next += iv;
        its.it_value = usec_to_ts(next);
        its.it_interval = usec_to_ts(iv);
        if (timerfd_settime(s->fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
                return negative_errno();
        return 0;
}

int loop_add_wallclock_timer(struct loop *l, uint64_t interval_usec, uint64_t offset_usec,
                             loop_timer_fn fn, void *userdata, struct loop_source **ret) {
        struct loop_source *s;
        int fd, r;

        if (!l || !fn || interval_usec == 0)
                return -EINVAL;
        fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = source_add(l, LOOP_WALLCLOCK, fd, EPOLLIN, userdata, &s);
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        s->fn.timer = fn;
        s->interval_usec = interval_usec;
        s->offset_usec = offset_usec;
        r = wallclock_arm(s);
        if (r < 0) {
                loop_source_free(s);
                return r;
        }
        if (ret)
                *ret = s;
        return 0;
}

/* Blocking the signals is process-wide state we leave in place when the source goes away:
 * unblocking a pending SIGTERM at shutdown would kill the process with its default action.
 * Call this before starting threads (e.g. the ZooKeeper client's) so they inherit the mask. */
int loop_add_signals(struct loop *l, const int *sigs, loop_signal_fn fn, void *userdata,
                     struct loop_source **ret) {
        struct loop_source *s;
        sigset_t mask;
        int fd, r;

        if (!l || !sigs || !fn)
                return -EINVAL;
        sigemptyset(&mask);
        for (const int *p = sigs; *p; p++)
                if (sigaddset(&mask, *p) < 0)
                        return -EINVAL;
        r = pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (r > 0)
                return -r;
        fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = source_add(l, LOOP_SIGNAL, fd, EPOLLIN, userdata, &s);
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        s->fn.signal = fn;
        if (ret)
                *ret = s;
        return 0;
}

static int dispatch_timer(struct loop_source *s) {
        uint64_t exp;
        ssize_t n;

        n = read(s->fd, &exp, sizeof(exp));
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0; /* raced with a re-arm */
                if (errno == ECANCELED && s->kind == LOOP_WALLCLOCK)
                        /* The clock was set: re-align to the new wall clock. No tick is reported;
                         * the next one comes at the next multiple in the new time. */
                        return wallclock_arm(s);
                return negative_errno();
        }
        if (n != sizeof(exp) || exp == 0)
                return 0;
        return s->fn.timer(s, exp, s->userdata);
}

static int dispatch_signal(struct loop_source *s) {
        struct signalfd_siginfo si;

        /* A callback may free its own source: stop reading then. */
        while (!s->dead) {
                ssize_t n = read(s->fd, &si, sizeof(si));
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return negative_errno();
                }
                if (n != sizeof(si))
                        return -EIO;
                int r = s->fn.signal(s, (int) si.ssi_signo, s->userdata);
                if (r < 0)
                        return r;
                if (s->loop->exiting)
                        return 0;
        }
        return 0;
}

static int dispatch(struct loop_source *s, uint32_t revents) {
        switch (s->kind) {
        case LOOP_IO:
                return s->fn.io(s, s->fd, revents, s->userdata);
        case LOOP_TIMER:
        case LOOP_WALLCLOCK:
                return dispatch_timer(s);
        case LOOP_SIGNAL:
                return dispatch_signal(s);
        }
        return -EINVAL;
}

int loop_run(struct loop *l) {
        struct epoll_event ev[LOOP_BATCH];
        int r = 0;

        if (!l)
                return -EINVAL;
        while (!l->exiting) {
                int n = epoll_wait(l->epfd, ev, LOOP_BATCH, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                l->dispatching = true;
                for (int i = 0; i < n && !l->exiting; i++) {
                        struct loop_source *s = ev[i].data.ptr;
                        if (s->dead)
                                continue; /* freed earlier in this batch */
                        r = dispatch(s, ev[i].events);
                        if (r < 0) {
                                loop_exit(l, r);
                                break;
                        }
                }
                l->dispatching = false;
                free_dead(l);
        }
        l->exiting = false; /* loop_run may be called again */
        return l->exit_code;
}

void loop_exit(struct loop *l, int code) {
        if (!l)
                return;
        l->exiting = true;
        l->exit_code = code;
}
