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
struct live_entry {
        char *path;     /* relative to the managed root; never "" (the root itself is implied) */
        int64_t weight; /* current weight in conf units, -1 if unknown */
};
struct live_tree {
        struct live_entry *v[_CONF_SUBSYS_MAX];
        size_t n[_CONF_SUBSYS_MAX];
        bool present[_CONF_SUBSYS_MAX]; /* the subsystem is mounted/usable on this machine */
};
void live_tree_clear(struct live_tree *t);
int live_tree_add(struct live_tree *t, enum conf_subsys s, const char *path, int64_t weight);

enum plan_op_type {
        PLAN_MKDIR,
        PLAN_SET_WEIGHT,
        PLAN_RMDIR, /* processes in it move to the managed root first (the executor's job) */
};
struct plan_op {
        enum plan_op_type type;
        enum conf_subsys subsys;
        char *path;    /* owned; relative to the managed root */
        int64_t value; /* PLAN_SET_WEIGHT: the conf weight to write */
};
struct plan {
        struct plan_op *ops;
        size_t n;
};
void plan_clear(struct plan *p);
/* Pure. `protected_names`: NULL-terminated names (last path component) never removed, nor
 * anything below them. A subsystem absent from the conf is left alone entirely (not pruned). */
int conf_plan(const struct conf *c, const struct live_tree *live, char *const *protected_names,
              struct plan *ret);
/* One line per op, e.g. "create cpu:a/b", "set cpu:a/b share 1024 (was 512)", "remove blkio:x". */
int plan_format(const struct plan *p, const struct live_tree *live, char **ret);

/* v2 puts every subsystem tree into one tree: checks that the conf can be one (the same name
 * under different parents in the cpu and blkio trees cannot be one cgroup). Adds problems to
 * errs and returns -EINVAL if any. */
int plan_check_v2(const struct conf *c, struct conf_errors *errs);
