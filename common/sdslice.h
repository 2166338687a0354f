/* sdslice.h — the arch conf as slice units of a systemd manager ([cgroup] mode = systemd).
 *
 * The managed root `[cgroup] root` is one slice ("cgrouparch.slice"); every node of the union of
 * the cpu and blkio trees is a slice nested by name (sdunit.h). The planning is the v2 planner's
 * (conf_plan() on a live tree read from the MANAGER, never from the cgroupfs: ListUnitsByPatterns
 * plus the CPUWeight/IOWeight properties of org.freedesktop.systemd1.Slice); its operations are
 * then folded into unit operations: a new node is one StartTransientUnit carrying its weights, a
 * weight change one SetUnitProperties(runtime), a removal one StopUnit.
 *
 * Why transient units (and not unit files in /run/systemd/system + Reload): the manager owns
 * them end to end. It keeps them across daemon-reload and daemon-reexec (their definition lives
 * in the manager's transient directory, runtime property changes in its ".control" directory),
 * and when a stopped transient unit is collected the manager deletes those files itself, so a
 * removed node is gone from the manager and from disk in one call, with no Reload racing other
 * clients and no files of ours to clean up after a crash. A reboot starts empty, and cg-syncd
 * rebuilds the tree from its snapshot or ZooKeeper, as on every other layout.
 *
 * Stopping a slice stops every unit in it. A removal is therefore refused (not an error: it is
 * reported and retried at the next apply) while any unit that is not inactive still sits in the
 * slice, i.e. appears in its RequiredBy/ConsistsOf/SliceOf dependencies. Nothing is ever killed.
 *
 * Pure parts (unit-tested): manager view -> live tree, plan -> unit operations, formatting.
 * The bus parts are synchronous calls on the bus given (the caller's loop thread); each start
 * or stop waits for its job (JobRemoved) with a deadline. Returns >= 0 or -errno; never logs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "plan.h"

/* ---- pure ---- */

/* An empty manager view: v2 (one union tree), every subsystem present, weights writable. */
void sdslice_live_init(struct live_tree *t);
/* Adds slice `unit` of the manager's view with its CPUWeight/IOWeight (UINT64_MAX: not set) to
 * both subsystem lists of t. 1: added; 0: not a node of this root (another root, the root
 * itself, a name that is not a valid conf path): ignored, never touched. */
int sdslice_live_add(struct live_tree *t, const char *root, const char *unit, uint64_t cpu_weight,
                     uint64_t io_weight);
/* Sorts every list of t by path (what cgfs_read_live() promises). */
void sdslice_live_sort(struct live_tree *t);

enum sdslice_op_type {
        SDSLICE_CREATE, /* StartTransientUnit with the weights set below */
        SDSLICE_SET,    /* SetUnitProperties(runtime=true) */
        SDSLICE_STOP,   /* StopUnit, if nothing else is in the slice */
};
/* A limit as a unit property (issue 16): folded from PLAN_SET_LIMIT / PLAN_CLEAR_LIMIT. */
struct sdslice_limit {
        enum conf_limit limit;
        unsigned major, minor; /* device limits: the device, given as /dev/block/M:m */
        int64_t value;         /* conf units; -1: back to the property's "no limit" */
};
struct sdslice_op {
        enum sdslice_op_type type;
        struct sdslice_limit *limits; /* owned */
        size_t n_limits;
        char *unit;                 /* owned, e.g. "cgrouparch-b-b_sub1.slice" */
        char *path;                 /* owned, the conf path "b/b_sub1" */
        const struct plan_op *from; /* the first plan op folded in (borrowed from the plan) */
        int64_t cpu_weight, io_weight; /* machine units to set; -1: leave as it is */
        int64_t was_cpu, was_io;       /* the manager's value before, -1: not set / new */
};
struct sdslice_plan {
        struct sdslice_op *ops;
        size_t n;
};
void sdslice_plan_clear(struct sdslice_plan *p);
/* Folds a conf_plan() result (made against a live tree from sdslice_live_*) into unit
 * operations, in the plan's order: creations parents first (each with its weights), weight
 * changes, removals children first. PLAN_ENABLE ops vanish (the manager enables controllers).
 * `live` may be NULL (then no "was" values). */
int sdslice_plan_from(const char *root, const struct plan *p, const struct live_tree *live,
                      struct sdslice_plan *ret);
/* One line per op: "create cgrouparch-b-b_sub1.slice CPUWeight=19",
 * "set cgrouparch-a.slice CPUWeight=48 (was 100)", "remove cgrouparch-x.slice". */
int sdslice_plan_format(const struct sdslice_plan *p, char **ret);
/* "CPUWeight=19 IOWeight=100" for the weights an op sets ("" when none; owned). */
int sdslice_props_format(int64_t cpu_weight, int64_t io_weight, char **ret);
/* The property of a limit and its value as systemctl shows them: "CPUQuotaPerSecUSec=500000",
 * "MemoryMax=infinity", "IOReadBandwidthMax=/dev/block/7:0 2097152" (owned). */
int sdslice_limit_format(const struct sdslice_limit *l, char **ret);
/* Limit l of the manager's view: a property value -> conf units in *ret (LIVE_LIMIT_NONE for
 * its "no limit", LIVE_LIMIT_OTHER for a quota no whole percent gives). */
int64_t sdslice_limit_from_prop(enum conf_limit l, uint64_t v);

/* ---- through the bus ---- */

#define SDSLICE_JOB_TIMEOUT_USEC (30 * 1000000ULL)

/* The manager's view of the managed root: its active slices (loaded and not inactive) as a
 * live tree, and whether the root slice itself is active. */
int sdslice_read_live(sd_bus *bus, const char *root, struct live_tree *ret, bool *ret_root_active);
/* Starts the root slice unless it is active. 1: started; 0: was there. *ret_error (may be
 * NULL) gets the manager's message on failure (owned). */
int sdslice_ensure_root(sd_bus *bus, const char *root, char **ret_error);

struct sdslice_result {
        size_t n_created, n_set, n_stopped, n_done;
        char **refused; /* strv: "cgrouparch-x.slice not removed: it holds web.service (active)" */
        const struct sdslice_op *failed; /* borrowed from the plan; NULL when none */
        char *error;                     /* the manager's message for `failed` (owned) */
};
void sdslice_result_clear(struct sdslice_result *r);
/* Executes the ops in order; stops at the first failure (a refused removal is not one). */
int sdslice_apply(sd_bus *bus, const struct sdslice_plan *p, struct sdslice_result *res);

/* The ControlGroup property of a unit ("/cgrouparch.slice"); -ENODATA when it has none (not
 * realized); -ENOENT when the unit is not loaded. */
int sdslice_unit_cgroup(sd_bus *bus, const char *unit, char **ret);
/* The manager's own root cgroup (its ControlGroup property: "" for the system manager,
 * "/user.slice/user-0.slice/user@0.service" for a user manager). */
int sdslice_manager_cgroup(sd_bus *bus, char **ret);
