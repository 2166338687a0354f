/* plan.h — the live-tree model and the pure planner: (conf, live tree) -> operations.
 * Also the checks that only make sense against a layout (v2 rules). No I/O; never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* The live tree is what the cgroup layer read under the managed root, per conf subsystem:
 * every existing relative path and its current weight in conf units (-1 if unknown/absent).
 * The planner compares and returns the operations, in an order safe to execute:
 * mkdirs parents first, weights, then rmdirs children first. */
/* Limits as they are on the machine, in conf units (quota_percent, bytes, tasks, bytes/s, IO/s). */
#define LIVE_LIMIT_NONE (-1)  /* no limit: "max", -1, 0 or no rule, as the file says it */
#define LIVE_LIMIT_OTHER (-2) /* a limit no conf value gives (e.g. a quota of another period):
                                 rewritten if the conf sets one, cleared if not */
struct live_dev_limit {
        unsigned major, minor;
        int64_t v[CONF_LIMIT_N_DEVICE]; /* by conf_limit - CONF_LIMIT_FIRST_DEVICE; -1: none */
};
struct live_limits {
        int64_t v[_CONF_LIMIT_MAX]; /* scalar limits of the entry's subsystem; -1: none */
        struct live_dev_limit *devs; /* owned; devices with at least one rule */
        size_t n_devs;
};
struct live_limits *live_limits_new(void); /* every limit LIVE_LIMIT_NONE */
struct live_limits *live_limits_free(struct live_limits *l);
/* The device entry of l for major:minor, added if missing (-ENOMEM). */
int live_limits_dev(struct live_limits *l, unsigned major, unsigned minor,
                    struct live_dev_limit **ret);

/* A device key of the conf resolved on this host (stat(2)'s st_rdev of a block device). */
struct live_dev {
        char *key;  /* owned: "/dev/sda" as the conf writes it */
        int err;    /* 0, or -errno: -ENOENT no such path, -ENOTBLK not a block device */
        unsigned major, minor;
};

struct live_entry {
        char *path;     /* relative to the managed root; never "" (the root itself is implied) */
        int64_t weight; /* current weight in conf units (v1) or machine units (v2, see below),
                           -1 if unknown/absent (on v2: the controller is not enabled there) */
        bool partial;   /* v1 mirrored subsystem (cpu+cpuacct): exists in some of its
                           hierarchies only; the planner re-creates (conf has it) or removes it */
        struct live_limits *limits; /* owned; NULL: no limit set (or not read: a fresh cgroup) */
};
struct live_tree {
        struct live_entry *v[_CONF_SUBSYS_MAX];
        size_t n[_CONF_SUBSYS_MAX];
        bool present[_CONF_SUBSYS_MAX]; /* the subsystem is mounted/usable on this machine */
        /* Weights of this subsystem cannot be written here (v2: the controller is not available
         * at the managed root; v1: no weight file at all): the planner plans none. */
        bool weight_unavailable[_CONF_SUBSYS_MAX];
        /* v2: every subsystem tree is one union tree; both lists hold the same paths, and
         * weights are machine units (cpu.weight, io.weight) compared after plan_v2_weight(). */
        bool v2;
        /* systemd mode (v2 too): the manager enables controllers along a slice chain itself, so
         * no PLAN_ENABLE is planned; weights are unit properties (CPUWeight=, IOWeight=), and
         * one the conf sets is written where the unit has none, even if it equals the default. */
        bool systemd;
        /* Limits: which ones this layout cannot set (v1 has no memory.high), the CPUs the quota
         * is clamped to (0: unknown, no clamp), the page size memory limits are rounded down to
         * (0: 4096), and the conf's device paths as resolved here (cgfs_read_live_for()). */
        bool limit_unsupported[_CONF_LIMIT_MAX];
        unsigned ncpus;
        unsigned page_size;
        struct live_dev *devs; /* owned */
        size_t n_devs;
};
void live_tree_clear(struct live_tree *t);
/* Records how a device key of the conf resolved here (err 0: major:minor). */
int live_tree_add_dev(struct live_tree *t, const char *key, int err, unsigned major,
                      unsigned minor);
int live_tree_add(struct live_tree *t, enum conf_subsys s, const char *path, int64_t weight);
/* Same, taking ownership of a malloc'd path (freed on failure too): no copy. */
int live_tree_add_take(struct live_tree *t, enum conf_subsys s, char *path, int64_t weight);

enum plan_op_type {
        PLAN_MKDIR,
        PLAN_SET_WEIGHT,
        PLAN_RMDIR, /* processes in it move to the managed root first (the executor's job) */
        PLAN_ENABLE, /* v2 only: enable the subsystem's controller for `path` (the parent chain's
                        cgroup.subtree_control); planned after the mkdirs, parents first */
        PLAN_SET_LIMIT,   /* write limit `limit` = value (conf units, already clamped/rounded);
                             planned after the weights, parents first */
        PLAN_CLEAR_LIMIT, /* return limit `limit` to "no limit" (the conf no longer sets it) */
};
struct plan_op {
        enum plan_op_type type;
        enum conf_subsys subsys;
        char *path;    /* owned; relative to the managed root */
        int64_t value; /* PLAN_SET_WEIGHT: the conf weight to write; PLAN_SET_LIMIT: the limit */
        /* limit ops: */
        enum conf_limit limit;
        unsigned major, minor; /* device limits: the device */
        int64_t asked;         /* the conf's value where value was clamped, else == value */
        int64_t was;           /* what the machine had (LIVE_LIMIT_NONE/OTHER or a value) */
};
struct plan {
        struct plan_op *ops;
        size_t n;
        /* What the planner left out and why, one line each (a device missing on this host, a
         * limit this layout lacks, a clamped quota); owned strv, NULL when none. Shown by
         * `cgarch plan` and logged as warnings by the appliers. */
        char **notes;
};
void plan_clear(struct plan *p);
/* Pure. `protected_names`: NULL-terminated names (last path component) never removed, nor
 * anything below them. A subsystem absent from the conf is left alone entirely (not pruned). */
int conf_plan(const struct conf *c, const struct live_tree *live, char *const *protected_names,
              struct plan *ret);
/* One line per op, e.g. "create cpu:a/b", "set cpu:a/b share 1024 (was 512)", "remove blkio:x",
 * "set-limit memory:a max 67108864 (was none)", "clear-limit pids:a max (was 10)"; then one
 * "note: ..." line per note. */
int plan_format(const struct plan *p, const struct live_tree *live, char **ret);

/* v2 puts every subsystem tree into one tree: checks that the conf can be one (the same name
 * under different parents in the cpu and blkio trees cannot be one cgroup). Adds problems to
 * errs and returns -EINVAL if any. */
int plan_check_v2(const struct conf *c, struct conf_errors *errs);
/* v2 "no internal processes": a cgroup whose children get controllers cannot hold processes.
 * `names` (NULL-terminated, e.g. the [pid_files] names) that name a node with children in the
 * union tree are reported as "pid_files.<name>: ..." problems; returns -EINVAL if any. */
int plan_check_v2_procs(const struct conf *c, char *const *names, struct conf_errors *errs);

/* v2 linear mapping (docs/design.md "The tree on the machine"): share -> cpu.weight =
 * clamp(share*100/1024, 1, 10000), weight -> io.weight = clamp(weight*100/500, 1, 10000).
 * Sibling ratios are kept. */
int64_t plan_v2_weight(enum conf_subsys s, int64_t conf_weight);
/* Default machine weight of a fresh cgroup, for "write only where it differs" (v1 cpu.shares
 * 1024, v2 cpu.weight 100, io.weight 100); -1 where not known (v1 blkio: depends on the
 * scheduler), meaning always write. */
int64_t plan_default_weight(enum conf_subsys s, bool v2);
