/* event.h — the few things the three loop-driven daemons (cg-syncd, cg-taskd, cg-accountd) set up
 * on their sd-event loop (libsystemd) the same way. Everything else they call sd-event for
 * directly. cg-wsd runs on libwebsockets' loop instead. Returns >= 0 or -errno; never logs.
 *
 * Error rule, kept from the home-made loop this replaced: a callback returning < 0 means a broken
 * invariant or no memory, so every source made here stops the loop with that value
 * (sd_event_source_set_exit_on_failure); sd_event_loop() then returns it. By default sd-event
 * would only disable the failing source and run on without it. */
#pragma once

#include <stdint.h>

#include <systemd/sd-event.h>

/* Blocks `sigs` (0-terminated) in the calling thread, creates the loop and adds one signal source
 * per signal, then turns on sd-event's watchdog (WATCHDOG=1 sent by the loop itself at a fraction
 * of WATCHDOG_USEC; nothing when not set). Call it before any thread starts (the ZooKeeper
 * client's), so that threads inherit the mask and a signal is never taken on them with its
 * default action. The mask is left in place when the loop goes: unblocking a pending SIGTERM at
 * shutdown would kill the process. */
int event_new(const int *sigs, sd_event_signal_handler_t fn, void *userdata, sd_event **ret);

/* sd_event_add_io for EPOLLIN on fd (which stays the caller's). */
int event_add_io(sd_event *e, sd_event_source **ret, int fd, sd_event_io_handler_t fn,
                 void *userdata);

/* A CLOCK_MONOTONIC one-shot timer, first after `usec` (0: off until event_timer_set). A
 * periodic timer re-arms itself from its callback with event_timer_set(). `accuracy_usec`: how
 * late sd-event may fire it to coalesce wake-ups (0 = its default, 250 ms). */
int event_add_timer(sd_event *e, sd_event_source **ret, uint64_t usec, uint64_t accuracy_usec,
                    sd_event_time_handler_t fn, void *userdata);
/* Re-arms a timer to fire once `usec` from now; 0 turns it off. */
int event_timer_set(sd_event_source *s, uint64_t usec);
