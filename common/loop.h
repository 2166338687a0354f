/* loop.h — a small single-threaded event loop over epoll: fds, timerfd timers (monotonic, or
 * realtime aligned to the wall-clock second), signalfd signals. Callbacks run on the loop thread;
 * a callback returning < 0 is logged by nobody here: the loop stops with that value.
 * Returns >= 0 or -errno; never logs. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

struct loop;
struct loop_source; /* an fd, a timer or the signal set; owned by the loop */

typedef int (*loop_io_fn)(struct loop_source *s, int fd, uint32_t revents, void *userdata);
/* `expirations`: how many periods passed since the last call (> 1 means ticks were missed). */
typedef int (*loop_timer_fn)(struct loop_source *s, uint64_t expirations, void *userdata);
typedef int (*loop_signal_fn)(struct loop_source *s, int signo, void *userdata);

int loop_new(struct loop **ret);
struct loop *loop_free(struct loop *l); /* frees all sources; does not close io fds */
DEFINE_CLEANUP_FUNC(struct loop, loop_free)

/* Watches fd (EPOLLIN etc.). The fd stays owned by the caller. */
int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata,
                struct loop_source **ret);
int loop_source_set_events(struct loop_source *s, uint32_t events);

/* Monotonic timer: first after `first_usec` (0 = disarmed), then every `interval_usec`
 * (0 = one-shot). */
int loop_add_timer(struct loop *l, uint64_t first_usec, uint64_t interval_usec, loop_timer_fn fn,
                   void *userdata, struct loop_source **ret);
int loop_timer_set(struct loop_source *s, uint64_t first_usec, uint64_t interval_usec);
/* CLOCK_REALTIME timer firing at each wall-clock multiple of `interval_usec` (e.g. every
 * second on the second) plus `offset_usec`; follows clock changes (TFD_TIMER_CANCEL_ON_SET). */
int loop_add_wallclock_timer(struct loop *l, uint64_t interval_usec, uint64_t offset_usec,
                             loop_timer_fn fn, void *userdata, struct loop_source **ret);

/* Blocks `sigs` (0-terminated list) and delivers them through a signalfd. */
int loop_add_signals(struct loop *l, const int *sigs, loop_signal_fn fn, void *userdata,
                     struct loop_source **ret);

/* Removes and frees a source (safe to call from inside its own callback). NULL-safe. */
void loop_source_free(struct loop_source *s);
struct loop *loop_source_loop(struct loop_source *s);

/* Runs until loop_exit() or a callback returns < 0; returns the exit code or that error. */
int loop_run(struct loop *l);
void loop_exit(struct loop *l, int code);
