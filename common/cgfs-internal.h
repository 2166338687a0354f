/* cgfs-internal.h — what cgfs.c shares with its backends cgfs-v1.c and cgfs-v2.c: the handle
 * and the ops table chosen once in cgfs_open(). Not installed; never include outside common/.
 *
 * Safety is structural: each hierarchy keeps an O_DIRECTORY fd of its managed root, and every
 * create/write/remove goes through openat/mkdirat/unlinkat relative to that fd with a path that
 * passed cgfs_path_is_safe(); cgroupfs has no symlinks, so nothing outside can be reached. The
 * only writes outside are cgfs_ensure_root()'s mkdir of the root itself,
 * cgfs_remove_root()'s moves to the root's parent, and cgfs_deleg_*() in the cgroup delegated
 * to cg-syncd (cgfs-file.c, resolved beneath the unified mount). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "acct.h"
#include "cgfs.h"
#include "plan.h"

struct cgfs_hier {
        char *mount;       /* mount point, e.g. /sys/fs/cgroup/cpu */
        char *mount_root;  /* the cgroup mounted there, "/" normally */
        char *controllers; /* as in /proc/<pid>/cgroup: "cpu", "cpu,cpuacct", "" (v2) */
        char *root_abs;    /* <mount>/<root> */
        int mount_fd;      /* O_DIRECTORY of the mount point */
        int root_fd;       /* O_DIRECTORY of the managed root; -1 while it does not exist */
};

#define CGFS_MAX_HIERS_PER_SUBSYS 2

struct cgfs;

struct cgfs_ops {
        const char *name;
        /* Fills the live tree of every subsystem (paths, weights, flags), sorted by path;
         * conf (may be NULL) limits what is read, see cgfs_read_live_for(). */
        int (*read_live)(struct cgfs *fs, const struct conf *c, struct live_tree *t);
        /* Writes a weight in conf units (the backend converts). -ENOENT: no weight file. */
        int (*set_weight)(struct cgfs *fs, enum conf_subsys s, const char *path, int64_t w);
        /* v2: enables the controller of s for path. -EOPNOTSUPP on v1 or when unavailable. */
        int (*enable)(struct cgfs *fs, enum conf_subsys s, const char *path, size_t *n_written);
        /* Optional (systemd mode: the manager does these, not the cgroupfs). NULL: the common
         * code in cgfs.c does the filesystem work. */
        int (*ensure_root)(struct cgfs *fs);
        int (*apply_plan)(struct cgfs *fs, const struct plan *p, struct cgfs_apply_result *res);
        /* Absolute cgroup directory of conf path `path` ("" = managed root), owned. */
        int (*cgroup_dir)(struct cgfs *fs, enum conf_subsys s, const char *path, char **ret);
        /* The name of file f of subsystem s in every cgroup (v1 IO: probed once in the managed
         * root); NULL when this backend has none. */
        const char *(*file_name)(struct cgfs *fs, enum conf_subsys s, enum cgfs_file f);
        int (*parse_cpu_usage)(const char *text, uint64_t *ret); /* ns */
        int (*parse_io)(const char *text, struct acct_blkio *b);
};

extern const struct cgfs_ops cgfs_ops_v1;
extern const struct cgfs_ops cgfs_ops_v2;
extern const struct cgfs_ops cgfs_ops_systemd; /* cgfs-systemd.c */

/* systemd mode: the manager connection and what was learned from it (cgfs-systemd.c). */
struct cgfs_sd;
int cgfs_sd_new(const char *bus_spec, struct cgfs_sd **ret);
void cgfs_sd_free(struct cgfs_sd *sd);
/* PID 1 is systemd and `dir` is a cgroup2 mount: what `auto` turns into systemd mode. */
bool cgfs_systemd_host(const char *dir);

struct cgfs {
        const struct cgfs_ops *ops;
        bool v2;
        char *root; /* managed root, relative, "" for the hierarchy root */
        struct cgfs_hier *h;
        size_t n_h;
        /* Per subsystem: indices into h. v1 cpu: [cpu hierarchy, cpuacct hierarchy] when
         * separate; the first one holds the weight file. v2: the unified hierarchy. */
        size_t sub[_CONF_SUBSYS_MAX][CGFS_MAX_HIERS_PER_SUBSYS];
        size_t n_sub[_CONF_SUBSYS_MAX];
        int acct[_CONF_SUBSYS_MAX]; /* index into h of the accounting hierarchy, -1 if none */
        const char *dirs[_CONF_SUBSYS_MAX][CGFS_MAX_HIERS_PER_SUBSYS + 1]; /* borrowed root_abs */
        /* v1 blkio: the weight file that exists here, found on first use (NULL: unknown). */
        const char *blkio_weight_file;
        const char *io_weight_file; /* v2: "io.weight" or "io.bfq.weight", same idea */
        struct cgfs_sd *sd; /* systemd mode only (owned), else NULL */
        const char *io_stat_file;   /* v1: the blkio stat file found in the managed root */
};

/* Refreshes h->root_fd if the managed root appeared since; 0 and fd >= 0, or -ENOENT. */
int cgfs_hier_root_fd(struct cgfs *fs, struct cgfs_hier *h);

/* Pre-order walk below a managed root fd: calls cb for every cgroup below it (not the root
 * itself) with an fd of its parent directory and its name there (files of the cgroup are
 * "<name>/<file>" relative to parent_fd, valid during the call), and its relative path. */
typedef int (*cgfs_walk_cb)(void *userdata, int parent_fd, const char *name, const char *path);
int cgfs_walk(int root_fd, cgfs_walk_cb cb, void *userdata);

/* openat() of a path below dirfd that cannot leave it: openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV) where the kernel has it, else openat(O_NOFOLLOW).
 * O_CLOEXEC | O_NOCTTY are added. -errno. */
int cgfs_open_beneath(int dirfd, const char *path, int flags);

/* Small file read relative to a dir fd, into buf (NUL-terminated); -errno. */
int cgfs_read_small_at(int dirfd, const char *path, char *buf, size_t size);
/* Writes text to an existing file relative to dirfd (one write, O_TRUNC, no O_CREAT). */
int cgfs_write_at(int dirfd, const char *path, const char *text);
#define CGFS_PATH_BUF (CONF_MAX_DEPTH * (CONF_NAME_MAX + 1) + 64)

/* A growable vector of owned strings (strv_extend is O(n) per push: too slow for 10,000). */
struct cgfs_pathv {
        char **v;
        size_t n, cap;
};
int cgfs_pathv_add(struct cgfs_pathv *pv, const char *s);
void cgfs_pathv_clear(struct cgfs_pathv *pv);

/* ---- reading live trees in parallel (cgfs-walk.c) ---- */
struct cgfs_wentry {
        char *path;                  /* owned, relative to the tree's root, never "" */
        int64_t w[_CONF_SUBSYS_MAX]; /* filled by the tree's `read` callback; -1 by default */
};
struct cgfs_wtree {
        int root_fd; /* borrowed O_DIRECTORY fd of a managed root that exists */
        /* Called once per cgroup found, with an fd of its parent and its name there; fills
         * e->w. Runs in any worker thread concurrently with itself: it may only read shared
         * state (or use atomics). NULL: nothing to read. */
        void (*read)(const struct cgfs_wtree *t, int parent_fd, const char *name,
                     struct cgfs_wentry *e);
        void *userdata; /* for read */
        /* Output: every cgroup below root_fd (not the root itself), sorted by path (strcmp),
         * owned; free with cgfs_wtree_clear(). */
        struct cgfs_wentry *v;
        size_t n;
};
/* Walks every tree with up to min(cgfs_walk_max_threads, online CPUs, 4) threads (the caller's
 * thread included; helpers run with every signal blocked). On error every output is freed. */
int cgfs_walk_trees(struct cgfs_wtree *trees, size_t n_trees);
void cgfs_wtree_clear(struct cgfs_wtree *t);
extern unsigned cgfs_walk_max_threads; /* default 4, clamped to the CPUs (see cgfs-walk.c); tests compare 1 and 4 */
/* Does planning c need the current weight of subsystem s at <path> (last component name)?
 * True without a conf, or without its name index (no O(1) lookup: read everything). */
/* ---- limits (cgfs-limits.c) ---- */
/* Fills the limits of t's entries (those c wants; all when c is NULL), ncpus, page_size,
 * limit_unsupported and the conf's device paths resolved here. After the backend's read_live. */
int cgfs_limits_read(struct cgfs *fs, const struct conf *c, struct live_tree *t);
/* Executes a PLAN_SET_LIMIT / PLAN_CLEAR_LIMIT op (v1 or v2 files). -ENOENT: no such file (the
 * kernel lacks the feature) or cgroup; -ENODEV: no such device; -EOPNOTSUPP: none on v1. */
int cgfs_limits_write(struct cgfs *fs, const struct plan_op *o);

/* qsort comparator of struct live_entry by path. */
int cgfs_cmp_live_entry(const void *a, const void *b);
bool cgfs_conf_wants(const struct conf *c, enum conf_subsys s, const char *name, const char *path,
                     bool weight);
