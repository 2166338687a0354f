/* sdplace.h — cg-taskd's placement in `[cgroup] mode = systemd`, through the manager's D-Bus
 * API (org.freedesktop.systemd1), never through cgroup.procs: decisions in sdplan.h, the bus
 * calls and files here. Runs on cg-taskd's one loop thread with synchronous method calls.
 *
 * A pass: sdplace_begin(), sdplace_root() for each pid-file process, sdplace_finish(), which
 * writes the batch's drop-ins, reloads the manager once, restarts what it may, and on a full
 * pass returns the units and scopes of nodes that left the conf. What is pending is written to
 * <runtime_dir>/taskd-state.json for other tools. */
#pragma once

#include <systemd/sd-event.h>

#include <stdbool.h>
#include <stddef.h>

struct taskd;
struct taskd_file;
struct taskd_pass;
struct cfg;
struct sdplace;

/* From the [systemd] and [cgroup] settings; opens no bus yet (that happens at first use and
 * again after a lost connection). */
int sdplace_new(const struct cfg *c, struct sdplace **ret);
/* Attaches the manager connection (now and after each reconnect) to the daemon's loop. */
void sdplace_set_event(struct sdplace *s, sd_event *e);
struct sdplace *sdplace_free(struct sdplace *s);

void sdplace_begin(struct taskd *d, bool full);
/* Places the unit of the process of pid file `f` (rule `ri`, which has targets). Counts into
 * pass. Returns >= 0, or -ENOMEM. */
int sdplace_root(struct taskd *d, size_t ri, struct taskd_file *f, struct taskd_pass *pass);
/* Returns >= 0, or -ENOMEM. */
int sdplace_finish(struct taskd *d, bool full);
/* STATUS= text (owned). */
int sdplace_status(const struct taskd *d, char **ret);
/* Units not (yet) in their slice: waiting for a restart, or on their way back. 0 when d->sd
 * is NULL. */
size_t sdplace_pending(const struct taskd *d);
