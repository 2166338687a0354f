/* tick.h — cg-accountd's wall-clock aligned timer on sd-event: fires at every multiple of
 * `interval` of CLOCK_REALTIME plus `offset` (each second on the second), tells the callback how
 * many boundaries passed since the last call (> 1: ticks were missed, the machine stalled), and
 * re-aligns when the clock is set. Loop thread only. Returns >= 0 or -errno; never logs.
 *
 * sd-event has no periodic wall-clock timer: each tick re-arms a one-shot CLOCK_REALTIME timer at
 * the next boundary, computed from the deadline just reached (not from "now" after the
 * callback), so a stalled callback shows up as missed boundaries at the next call. A clock step
 * is seen through a timerfd armed with TFD_TIMER_CANCEL_ON_SET; without it a clock set back one
 * hour would hold the tick for an hour. */
#pragma once

#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"

struct acctd_tick;
/* `expirations` >= 1. A return < 0 stops the loop with that value. The callback may free t. */
typedef int (*acctd_tick_fn)(struct acctd_tick *t, uint64_t expirations, void *userdata);

int acctd_tick_new(sd_event *e, uint64_t interval_usec, uint64_t offset_usec, acctd_tick_fn fn,
                   void *userdata, struct acctd_tick **ret);
struct acctd_tick *acctd_tick_free(struct acctd_tick *t); /* NULL-safe, returns NULL */
DEFINE_CLEANUP_FUNC(struct acctd_tick, acctd_tick_free)
/* The CLOCK_REALTIME deadline the timer is armed for (usec since the epoch). */
uint64_t acctd_tick_deadline(const struct acctd_tick *t);

/* ---- pure, for the above and its tests (times in usec, interval > 0) ---- */
/* The first boundary (a multiple of interval, plus offset % interval) strictly after now. */
uint64_t acctd_tick_next(uint64_t now, uint64_t interval, uint64_t offset);
/* The boundaries reached by `now` for a timer due at `deadline` (>= 1 once now >= deadline: the
 * deadline itself plus every later one that passed). */
uint64_t acctd_tick_expirations(uint64_t deadline, uint64_t now, uint64_t interval);
