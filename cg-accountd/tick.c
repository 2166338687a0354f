/* tick.c — see tick.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "tick.h"
#include "util.h"

struct acctd_tick {
        sd_event_source *timer;  /* CLOCK_REALTIME, one-shot, re-armed each tick */
        sd_event_source *change; /* io on clock_fd */
        int clock_fd;            /* timerfd that reports clock changes (ECANCELED); owned */
        uint64_t interval, offset, deadline;
        acctd_tick_fn fn;
        void *userdata;
};

uint64_t acctd_tick_next(uint64_t now, uint64_t interval, uint64_t offset) {
        uint64_t off = offset % interval;

        if (now < off)
                return off;
        return (now - off) / interval * interval + interval + off;
}

uint64_t acctd_tick_expirations(uint64_t deadline, uint64_t now, uint64_t interval) {
        if (now < deadline)
                return 0;
        return 1 + (now - deadline) / interval;
}

uint64_t acctd_tick_deadline(const struct acctd_tick *t) {
        return t->deadline;
}

static int tick_arm(struct acctd_tick *t, uint64_t deadline) {
        int r;

        t->deadline = deadline;
        r = sd_event_source_set_time(t->timer, deadline);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT);
}

/* Arms clock_fd far in the future: it never expires, it only fails with ECANCELED when the
 * clock is set. It must be re-armed after each such report. */
static int clock_watch_arm(int fd) {
        struct itimerspec its = {.it_value.tv_sec = (time_t) (UINT32_MAX - 1)};

        if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
                return negative_errno();
        return 0;
}

static int on_time(sd_event_source *s, uint64_t usec, void *userdata) {
        struct acctd_tick *t = userdata;
        uint64_t now = now_usec(CLOCK_REALTIME), n;
        int r;

        (void) s;
        (void) usec;
        n = acctd_tick_expirations(t->deadline, now, t->interval);
        if (n == 0) /* cannot happen (a realtime timer does not fire early); be safe */
                return tick_arm(t, t->deadline);
        /* Arm before the callback, from the boundary reached: a callback that runs long leaves
         * the next deadline in the past, and the next call counts what it missed. */
        r = tick_arm(t, t->deadline + n * t->interval);
        if (r < 0)
                return r;
        return t->fn(t, n, t->userdata); /* t may be freed now */
}

static int on_clock_change(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct acctd_tick *t = userdata;
        uint64_t exp;
        int r;

        (void) s;
        (void) revents;
        if (read(fd, &exp, sizeof(exp)) < 0 && errno != ECANCELED && errno != EAGAIN &&
            errno != EINTR)
                return negative_errno();
        r = clock_watch_arm(fd);
        if (r < 0)
                return r;
        /* Re-align to the new wall clock; no tick is reported for the jump. */
        return tick_arm(t, acctd_tick_next(now_usec(CLOCK_REALTIME), t->interval, t->offset));
}

struct acctd_tick *acctd_tick_free(struct acctd_tick *t) {
        if (!t)
                return NULL;
        sd_event_source_disable_unref(t->timer);
        sd_event_source_disable_unref(t->change);
        if (t->clock_fd >= 0)
                (void) close(t->clock_fd);
        free(t);
        return NULL;
}

int acctd_tick_new(sd_event *e, uint64_t interval_usec, uint64_t offset_usec, acctd_tick_fn fn,
                   void *userdata, struct acctd_tick **ret) {
        _cleanup_(acctd_tick_freep) struct acctd_tick *t = NULL;
        uint64_t first;
        int r;

        if (!e || interval_usec == 0 || !fn || !ret)
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->clock_fd = -1;
        t->interval = interval_usec;
        t->offset = offset_usec;
        t->fn = fn;
        t->userdata = userdata;

        /* The clock watch first: a step between it and the first deadline is then noticed. */
        t->clock_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (t->clock_fd < 0)
                return negative_errno();
        r = clock_watch_arm(t->clock_fd);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &t->change, t->clock_fd, EPOLLIN, on_clock_change, t);
        if (r < 0)
                return r;
        first = acctd_tick_next(now_usec(CLOCK_REALTIME), interval_usec, offset_usec);
        /* accuracy 1 µs: sd-event would otherwise delay the tick up to 250 ms to coalesce */
        r = sd_event_add_time(e, &t->timer, CLOCK_REALTIME, first, 1, on_time, t);
        if (r < 0)
                return r;
        t->deadline = first;
        r = sd_event_source_set_exit_on_failure(t->timer, true);
        if (r >= 0)
                r = sd_event_source_set_exit_on_failure(t->change, true);
        /* A step forward makes the timer due too: re-align before it runs, so the jump is not
         * counted as missed seconds. */
        if (r >= 0)
                r = sd_event_source_set_priority(t->change, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}
