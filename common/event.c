/* event.c — see event.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/epoll.h>

#include "event.h"
#include "macro.h"

int event_new(const int *sigs, sd_event_signal_handler_t fn, void *userdata, sd_event **ret) {
        sd_event *e = NULL;
        sigset_t mask;
        int r;

        if (!sigs || !fn || !ret)
                return -EINVAL;
        sigemptyset(&mask);
        for (const int *p = sigs; *p; p++)
                if (sigaddset(&mask, *p) < 0)
                        return -EINVAL;
        /* sd-event reads signals from a signalfd, which sees only blocked signals. */
        r = pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (r > 0)
                return -r;
        r = sd_event_new(&e);
        if (r < 0)
                return r;
        for (const int *p = sigs; *p; p++) {
                sd_event_source *s = NULL;

                r = sd_event_add_signal(e, &s, *p, fn, userdata);
                if (r < 0)
                        goto fail;
                r = sd_event_source_set_exit_on_failure(s, true);
                /* floating: owned by the loop, freed with it */
                if (r >= 0)
                        r = sd_event_source_set_floating(s, true);
                sd_event_source_unref(s);
                if (r < 0)
                        goto fail;
        }
        r = sd_event_set_watchdog(e, true);
        if (r < 0)
                goto fail;
        *ret = e;
        return 0;
fail:
        sd_event_unref(e);
        return r;
}

int event_add_io(sd_event *e, sd_event_source **ret, int fd, sd_event_io_handler_t fn,
                 void *userdata) {
        sd_event_source *s = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = sd_event_add_io(e, &s, fd, EPOLLIN, fn, userdata);
        if (r < 0)
                return r;
        r = sd_event_source_set_exit_on_failure(s, true);
        if (r < 0) {
                sd_event_source_disable_unref(s);
                return r;
        }
        *ret = s;
        return 0;
}

int event_add_timer(sd_event *e, sd_event_source **ret, uint64_t usec, uint64_t accuracy_usec,
                    sd_event_time_handler_t fn, void *userdata) {
        sd_event_source *s = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        r = sd_event_add_time_relative(e, &s, CLOCK_MONOTONIC, usec, accuracy_usec, fn, userdata);
        if (r < 0)
                return r;
        r = sd_event_source_set_exit_on_failure(s, true);
        if (r >= 0)
                r = event_timer_set(s, usec);
        if (r < 0) {
                sd_event_source_disable_unref(s);
                return r;
        }
        *ret = s;
        return 0;
}

int event_timer_set(sd_event_source *s, uint64_t usec) {
        int r;

        if (!s)
                return -EINVAL;
        if (usec == 0)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        r = sd_event_source_set_time_relative(s, usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}
