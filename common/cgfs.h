/* cgfs.h — cgroup filesystem access. Returns >= 0 or -errno; never logs.
 *
 * The layout (v1, hybrid, v2) is read from /proc/self/mountinfo, never guessed from names; a v1
 * and a v2 backend sit behind one ops table chosen once at cgfs_open(). Everything this module
 * creates, writes or removes lies under the managed root `[cgroup] root` of each hierarchy:
 * every path argument is relative to that root and is refused (-EINVAL) if it is absolute or has
 * a ".." or empty component. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "macro.h"
#include "plan.h"

enum cgfs_mode {
        CGFS_MODE_AUTO, /* from mountinfo: v1/hybrid uses v1 hierarchies, pure v2 uses unified */
        CGFS_MODE_V1,
        CGFS_MODE_V2, /* `dir` is the unified root itself (e.g. /sys/fs/cgroup/unified) */
        CGFS_MODE_SYSTEMD, /* cgroup v2 under a systemd manager: slice units (common/sdunit.h) */
};
int cgfs_mode_from_string(const char *s); /* "auto", "v1", "v2", "systemd" -> enum, else -EINVAL */

/* ---- layout discovery (pure) ---- */
struct cgfs_mount {
        char *path;        /* mount point, e.g. /sys/fs/cgroup/cpu */
        char **controllers; /* v1: super options that are controllers ("cpu", "cpuacct",
                               "name=systemd"); v2: NULL */
        bool v2;
        char *mount_root; /* 4th mountinfo field: the cgroup mounted there ("/" normally) */
};
struct cgfs_layout {
        struct cgfs_mount *mounts;
        size_t n_mounts;
};
/* Parses the text of /proc/self/mountinfo; keeps only cgroup/cgroup2 mounts below `dir`. */
int cgfs_layout_parse(const char *mountinfo, const char *dir, struct cgfs_layout **ret);
struct cgfs_layout *cgfs_layout_free(struct cgfs_layout *l);
DEFINE_CLEANUP_FUNC(struct cgfs_layout, cgfs_layout_free)
/* Mount holding a v1 controller ("cpu"), or the v2 mount for NULL; NULL when none. */
const struct cgfs_mount *cgfs_layout_find(const struct cgfs_layout *l, const char *controller);

/* ---- handle ---- */
struct cgfs;
/* Reads /proc/self/mountinfo (unless mode is V2, where `dir` is taken as the unified root,
 * which lets tests point it at a fixture directory). `root` "" means the hierarchy root. */
int cgfs_open(const char *dir, const char *root, enum cgfs_mode mode, struct cgfs **ret);
/* Same from an already parsed layout (tests). */
int cgfs_open_layout(const struct cgfs_layout *l, const char *root, enum cgfs_mode mode,
                     struct cgfs **ret);
struct cgfs *cgfs_close(struct cgfs *fs);
DEFINE_CLEANUP_FUNC(struct cgfs, cgfs_close)

bool cgfs_is_v2(const struct cgfs *fs);
const char *cgfs_root(const struct cgfs *fs); /* the managed root, relative, "" for none */
/* The subsystem can be managed here (its hierarchy is mounted, or v2 has the controller). */
bool cgfs_has_subsys(const struct cgfs *fs, enum conf_subsys s);

/* The directories a subsystem's tree lives in, as absolute paths of the managed root
 * (v1 cpu on this machine: ".../cpu/<root>" and ".../cpuacct/<root>"; v2: one unified dir).
 * Borrowed strings, valid until cgfs_close. Returns the count (0 if not mounted). */
int cgfs_subsys_dirs(const struct cgfs *fs, enum conf_subsys s, const char *const **ret);
/* Absolute dir of the managed root where accounting files of s are read (cpuacct for cpu on v1). */
const char *cgfs_acct_dir(const struct cgfs *fs, enum conf_subsys s);
/* Absolute cgroup directory where the accounting files of s for conf path `path` ("" = the
 * managed root) live: <acct dir>/<path> on v1/v2; in systemd mode the slice's cgroup (its
 * ControlGroup under the unified mount, e.g. .../cgrouparch.slice/cgrouparch-a.slice/
 * cgrouparch-a-b.slice for "a/b"). Owned. */
int cgfs_cgroup_dir(struct cgfs *fs, enum conf_subsys s, const char *path, char **ret);
/* As cgfs_open() with [cgroup] dir/root/mode and, in systemd mode, [systemd] bus of cfg (a plain
 * cgfs_open() talks to the system bus). */
struct cfg;
int cgfs_open_cfg(const struct cfg *cfg, struct cgfs **ret);
/* systemd mode (also what `auto` picked): the conf tree is slice units of a manager. */
bool cgfs_is_systemd(const struct cgfs *fs);
/* systemd mode: the manager connection once opened (borrowed, valid until the next call into
 * fs or cgfs_close), NULL before first use and in other modes. A daemon reads it from its loop:
 * a manager's private socket sends every unit signal, wanted or not. */
struct sd_bus;
struct sd_bus *cgfs_systemd_bus(const struct cgfs *fs);

/* Creates the managed root (mkdir -p) in every hierarchy in use. Idempotent. */
int cgfs_ensure_root(struct cgfs *fs);
/* Removes the managed root and everything below it (children first), moving processes to the
 * parent of the managed root first. Used by tests and the demo; refuses an empty root (-EPERM). */
int cgfs_remove_root(struct cgfs *fs);

/* Reads what exists under the managed root, with current weights in conf units. Entries come
 * sorted by path (strcmp), whatever order the walk found them in. The hierarchies and their
 * subtrees can be read by a few threads (a build-time default, 1 today; every signal blocked
 * in them). */
int cgfs_read_live(struct cgfs *fs, struct live_tree *ret);
/* The same, reading only what planning `c` needs (what conf_plan() and plan_format() use): on
 * v1, a subsystem absent from `c` is not walked (present/weight_unavailable are still set) and
 * a weight is read only where `c` sets one for that path (else -1); on v2, weights of paths
 * absent from the subsystem's tree of `c` are not read. c == NULL: as cgfs_read_live(). */
int cgfs_read_live_for(struct cgfs *fs, const struct conf *c, struct live_tree *ret);

struct cgfs_apply_result {
        size_t n_created, n_weights, n_removed, n_moved; /* n_moved: pids moved out of removed */
        char **warnings; /* owned strv, e.g. "blkio weight file missing in blkio:a" (once each) */
        size_t n_enabled;  /* v2: controllers enabled in cgroup.subtree_control files */
        size_t n_done;     /* ops executed successfully (all of them unless an error stopped it) */
        size_t n_refused;  /* systemd mode: removals refused (their reasons are in warnings) */
        const struct plan_op *failed; /* the op that failed (borrowed from the plan), or NULL */
};
void cgfs_apply_result_clear(struct cgfs_apply_result *r);
/* Executes a plan from conf_plan(). Stops at the first hard error and returns it. */
int cgfs_apply_plan(struct cgfs *fs, const struct plan *p, struct cgfs_apply_result *res);

/* Moves the whole process (cgroup.procs) into <root>/<path> of every hierarchy of s.
 * -ENOENT: no such group; -ESRCH: the process is gone. `path` "" means the managed root.
 * -EOPNOTSUPP in systemd mode: processes move through the manager there. */
int cgfs_attach(struct cgfs *fs, enum conf_subsys s, const char *path, pid_t pid);

/* For taskd's "write only what changes": the line a process would show in /proc/<pid>/cgroup
 * for each hierarchy of s once it is in <path>. ret[i].controllers is the 2nd field
 * ("cpu", "cpuacct", "" for v2), ret[i].cgpath the 3rd ("/<root>/<path>"). Owned by caller. */
struct cgfs_membership {
        char *controllers;
        char *cgpath;
};
int cgfs_expected_membership(const struct cgfs *fs, enum conf_subsys s, const char *path,
                             struct cgfs_membership **ret, size_t *n);
void cgfs_membership_free(struct cgfs_membership *m, size_t n);
/* Pure: does the text of /proc/<pid>/cgroup place it in every expected membership? */
bool cgfs_proc_cgroup_matches(const char *proc_cgroup, const struct cgfs_membership *m, size_t n);

/* ---- accounting reads ---- */
/* Cumulative CPU ns of <root>/<path> ("" = managed root): cpuacct.usage (v1) or
 * cpu.stat usage_usec * 1000 (v2). */
int cgfs_read_cpu_usage(struct cgfs *fs, const char *path, uint64_t *ret);

/* ---- pure helpers (unit-tested) ---- */
/* A path relative to the managed root: no leading '/', no "." or ".." or empty component.
 * "" is accepted only when allow_empty. */
bool cgfs_path_is_safe(const char *path, bool allow_empty);
/* A weight file: "N" (cpu.shares, cpu.weight, blkio.weight) or "default N\n<dev> N..."
 * (io.weight, io.bfq.weight, blkio.bfq.weight on some kernels). */
int cgfs_parse_weight(const char *text, int64_t *ret);
/* cgroup.procs: one pid per line; strict (a bad line is -EINVAL). *ret owned, *n its count. */
int cgfs_parse_pids(const char *text, pid_t **ret, size_t *n);
/* Does a space-separated controller list (cgroup.controllers, cgroup.subtree_control) hold
 * `controller`? */
bool cgfs_controllers_have(const char *list, const char *controller);
