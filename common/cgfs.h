/* cgfs.h — cgroup filesystem access. Returns >= 0 or -errno; never logs.
 *
 * The layout (v1, hybrid, v2) is read from /proc/self/mountinfo, never guessed from names; a v1
 * and a v2 backend sit behind one ops table chosen once at cgfs_open(). Everything this module
 * creates, writes or removes lies under the managed root `[cgroup] root` of each hierarchy:
 * every path argument is relative to that root and is refused (-EINVAL) if it is absolute or has
 * a ".." or empty component (the one exception, cg-syncd's v2 delegation, is cgfs_deleg_*).
 * It is the only door to the cgroup filesystem: the daemons get fds of named files
 * (cgfs_open_file) and the values parsed from them, never a path or a v1/v2 file name;
 * tests/integration/cgfs-gate.sh fails the build when code outside common/cgfs* names one. */
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
 * For display only (`cgarch tree`, --check): never build a path from them, use
 * cgfs_open_file(). Borrowed strings, valid until cgfs_close. Returns the count (0 if not
 * mounted). */
int cgfs_subsys_dirs(const struct cgfs *fs, enum conf_subsys s, const char *const **ret);
/* How /proc/<pid>/cgroup names cgroup `path` ("" = the managed root) of s: one string per
 * hierarchy of s, "<controllers>:<cgroup>" ("cpu:/cgrouparch/a" and "cpuacct:/cgrouparch/a" on
 * v1 with separate hierarchies, ":/cgrouparch/a" on v2), the cgroup seen through the mount's
 * root. To compare with /proc (cg-taskd's placement records, `cgarch why`), never to open.
 * Returns the count, *ret an owned strv. -EOPNOTSUPP in systemd mode (slices). */
int cgfs_proc_cgroup_names(const struct cgfs *fs, enum conf_subsys s, const char *path,
                           char ***ret);
/* Pure: the cgroup of the hierarchy with exactly these controllers ("cpu", "name=systemd", ""
 * for v2) in the text of /proc/<pid>/cgroup ("N:<controllers>:<cgroup>" lines). *ret owned.
 * -ENOENT: no such line. */
int cgfs_proc_cgroup_find(const char *text, const char *controllers, char **ret);
/* Absolute dir of the managed root where accounting files of s are read (cpuacct for cpu on
 * v1). For display only, like cgfs_subsys_dirs(). */
const char *cgfs_acct_dir(const struct cgfs *fs, enum conf_subsys s);
/* The absolute cgroup directory of conf path `path` ("" = the managed root) for s: <acct dir>/
 * <path> on v1/v2; in systemd mode the slice's own cgroup (its ControlGroup under the unified
 * mount). For display only (`cgarch show`): files are opened with cgfs_open_file(). Owned. */
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

/* Resolves the block device paths the conf's blkio limits name (stat(2) st_rdev) into t->devs,
 * afresh (devices come and go); cgfs_read_live_for() does it for its conf. A daemon that keeps
 * a live tree calls it before each conf_plan(). */
int cgfs_resolve_devices(const struct conf *c, struct live_tree *t);

struct cgfs_apply_result {
        size_t n_created, n_weights, n_removed, n_moved; /* n_moved: pids moved out of removed */
        size_t n_limits;        /* limits set or cleared */
        size_t n_limits_failed; /* limit writes the kernel refused (each is a warning) */
        char **warnings; /* owned strv, e.g. "blkio weight file missing in blkio:a" (once each) */
        size_t n_enabled;  /* v2: controllers enabled in cgroup.subtree_control files */
        size_t n_done;     /* ops executed successfully (all of them unless an error stopped it) */
        size_t n_refused;  /* systemd mode: removals refused (their reasons are in warnings) */
        const struct plan_op *failed; /* the op that failed (borrowed from the plan), or NULL */
};
void cgfs_apply_result_clear(struct cgfs_apply_result *r);
/* Executes a plan from conf_plan(). Stops at the first hard error and returns it. */
int cgfs_apply_plan(struct cgfs *fs, const struct plan *p, struct cgfs_apply_result *res);

/* ---- cgroup files: the only way a daemon reads or writes one ----
 * The backend picks the file's name; a caller never knows it. */
enum cgfs_file {
        CGFS_FILE_PROCS,         /* the processes: cgroup.procs (one fd per hierarchy of s) */
        CGFS_FILE_CPU_USAGE,     /* cumulative CPU time of CONF_CPU: cpuacct.usage (v1), cpu.stat
                                    (v2); parsed by cgfs_parse_cpu_usage() */
        CGFS_FILE_IO_STAT,       /* per-device bytes of CONF_BLKIO: the first of
                                    blkio.io_service_bytes_recursive (CFQ),
                                    blkio.throttle.io_service_bytes_recursive and
                                    blkio.throttle.io_service_bytes that exists (v1), io.stat
                                    (v2); parsed by cgfs_parse_io() */
        CGFS_FILE_THROTTLE_RULE, /* v1 CONF_BLKIO: blkio.throttle.read_bps_device ("MAJ:MIN bps"
                                    lines); v2: -EOPNOTSUPP */
        CGFS_FILE_RESET,         /* v1: writing cgfs_reset_value() resets the counters of s
                                    (cpuacct.usage, blkio.reset_stats); v2: -EOPNOTSUPP */
        /* The limits' counters and pressure (cg-accountd's optional sample keys). Each may be
         * missing on a kernel or hierarchy (-ENOENT); all are read with cgfs_parse_file(). */
        CGFS_FILE_CPU_THROTTLE,  /* CONF_CPU: cpu.stat nr_throttled, throttled_time|_usec (v1: in
                                    the cpu hierarchy, beside cpu.cfs_quota_us, where cpuacct is
                                    separate; v2: the CGFS_FILE_CPU_USAGE file itself, see
                                    cgfs_file_alias()) */
        CGFS_FILE_PRESSURE,      /* PSI: cpu.pressure (CONF_CPU), io.pressure (CONF_BLKIO),
                                    memory.pressure (CONF_MEMORY); v1 has them only on kernels
                                    that expose PSI there (in the accounting hierarchy); CONF_PIDS:
                                    none */
        CGFS_FILE_MEM_USAGE,     /* CONF_MEMORY: memory.usage_in_bytes (v1), memory.current (v2) */
        CGFS_FILE_MEM_PEAK,      /* CONF_MEMORY: memory.max_usage_in_bytes (v1), memory.peak (v2,
                                    kernel >= 5.19) */
        CGFS_FILE_MEM_EVENTS,    /* CONF_MEMORY: memory.failcnt (v1: limit hits), memory.events
                                    (v2: its oom_kill) */
        CGFS_FILE_PIDS_CURRENT,  /* CONF_PIDS: pids.current */
        _CGFS_FILE_MAX,
};

/* Opens file f of cgroup <root>/<path> ("" = the managed root) relative to the managed root's
 * fd, with a path that passed cgfs_path_is_safe() and is resolved beneath that fd without
 * following symlinks. CGFS_FILE_PROCS opens one fd per hierarchy of s (v1 cpu here: cpu and
 * cpuacct), every other file one fd in the accounting hierarchy of s. flags: O_RDONLY,
 * O_WRONLY or O_RDWR, maybe O_TRUNC (O_CLOEXEC is added); no O_CREAT: cgroup files exist or
 * the cgroup does not. -ENOENT: no such cgroup (or file); -ENOMEDIUM: s is not mounted;
 * -EOPNOTSUPP: the backend has no such file; -ENOBUFS: more than max fds needed; -EINVAL: a
 * bad path, flag, or a file that does not belong to s. The fds are the caller's (written only
 * on success: all or none). */
int cgfs_open_file(struct cgfs *fs, enum conf_subsys s, const char *path, enum cgfs_file f,
                   int flags, int *ret_fds, size_t max, size_t *ret_n);
/* For messages only (never to open): the name file f of s has here ("cpuacct.usage"), NULL if
 * none; and, owned in *ret, its absolute path in cgroup <path> of the accounting hierarchy. */
const char *cgfs_file_name(struct cgfs *fs, enum conf_subsys s, enum cgfs_file f);
int cgfs_describe_file(struct cgfs *fs, enum conf_subsys s, const char *path, enum cgfs_file f,
                       char **ret);
/* The text written to CGFS_FILE_RESET of s ("0" for cpuacct.usage, "1" for blkio.reset_stats). */
const char *cgfs_reset_value(const struct cgfs *fs, enum conf_subsys s);
/* v1: the IO counters of CGFS_FILE_IO_STAT are the throttle layer's, which count on a disk
 * only once a throttle rule exists there (see cg-accountd's acctd_blkio_enable). */
bool cgfs_io_needs_throttle_rule(struct cgfs *fs);

/* A read buffer reused across reads (cg-accountd reads every cgroup every second). */
struct cgfs_buf {
        char *p; /* owned, NUL-terminated after a read */
        size_t cap, len;
};
void cgfs_buf_free(struct cgfs_buf *b);
/* Reads the whole file at fd from offset 0 (pread: a cached fd of a cgroup file re-generates
 * its text) into b. Returns the length. */
int cgfs_read_fd(int fd, struct cgfs_buf *b);
/* What a CGFS_FILE_CPU_USAGE file holds (text from cgfs_read_fd), in cumulative ns. */
int cgfs_parse_cpu_usage(const struct cgfs *fs, const char *text, uint64_t *ret);
/* What a CGFS_FILE_IO_STAT file holds: per-device read/write bytes (ret's array is reused). */
struct acct_blkio;
int cgfs_parse_io(const struct cgfs *fs, const char *text, struct acct_blkio *ret);
/* The values a file of the limits' counters or pressure holds (text from cgfs_read_fd), into v:
 * the fields of file f (CGFS_FILE_CPU_USAGE, _IO_STAT, _CPU_THROTTLE, _PRESSURE, _MEM_*,
 * _PIDS_CURRENT) of subsystem s, with their ACCT_HAS_ bits set (v->pressure's has_some/has_full).
 * Nothing of v changes on an error (-EINVAL: not the file's format, -ENODATA: a needed key is
 * missing, e.g. cpu.stat of a v2 cgroup without the cpu controller). */
struct acct_value;
int cgfs_parse_file(const struct cgfs *fs, enum conf_subsys s, enum cgfs_file f,
                    const char *text, struct acct_value *v);
/* The file whose text also holds f's values here: v2's cpu.stat serves CGFS_FILE_CPU_USAGE and
 * CGFS_FILE_CPU_THROTTLE alike, so CGFS_FILE_CPU_USAGE for CGFS_FILE_CPU_THROTTLE on v2 (read
 * once, parse twice); f itself everywhere else. */
enum cgfs_file cgfs_file_alias(const struct cgfs *fs, enum conf_subsys s, enum cgfs_file f);
/* The pids a CGFS_FILE_PROCS fd lists (open it afresh for each read: a v1 cgroup.procs fd
 * keeps its pid list for a while). *ret owned. */
int cgfs_read_pids_fd(int fd, struct cgfs_buf *b, pid_t **ret, size_t *n);
/* Moves the whole process into the cgroup of a CGFS_FILE_PROCS fd (O_WRONLY). -ESRCH: the
 * process is gone; -ENOENT: the cgroup was removed under the fd. */
int cgfs_write_pid(int fd, pid_t pid);
/* Writes text to a writable fd from cgfs_open_file() in one write (a throttle rule, a reset). */
int cgfs_write_fd(int fd, const char *text);

/* The same, for a one-off read: opens, reads and closes CGFS_FILE_CPU_USAGE of <path>. */
int cgfs_read_cpu_usage(struct cgfs *fs, const char *path, uint64_t *ret);

/* ---- v2 delegation (cg-syncd under Delegate=yes, cg-syncd/deleg.c) ----
 * The only writes above the managed root. `base` is the cgroup delegated to this process,
 * relative to the unified hierarchy's root (from /proc/self/cgroup); `dir` is relative to
 * base ("" = base itself); both must pass cgfs_path_is_safe(). -ENOMEDIUM on v1. */
/* 1 if <base>/<dir> lists pid among its processes, else 0. */
int cgfs_deleg_holds(const struct cgfs *fs, const char *base, const char *dir, pid_t pid);
/* Creates <base>/<dir> (an existing one is fine). */
int cgfs_deleg_mkdir(const struct cgfs *fs, const char *base, const char *dir);
/* Moves pid into <base>/<dir>. */
int cgfs_deleg_attach(const struct cgfs *fs, const char *base, const char *dir, pid_t pid);
/* Enables controller ctl for the children of <base>/<dir> if <base>/<dir> has it: 1 when it
 * was written now, 0 when already on or not available there. */
int cgfs_deleg_enable(const struct cgfs *fs, const char *base, const char *dir, const char *ctl);

/* ---- pure helpers (unit-tested) ---- */
/* Limits as read back (cgfs-limits.c): a CFS quota over a period as quota_percent
 * (LIVE_LIMIT_NONE for quota < 0, LIVE_LIMIT_OTHER when no whole percent gives it); v2 cpu.max
 * text ("max 100000", "50000 100000"); device rule lines into l: v1 "M:m N" lines of the file
 * of limit `which`, v2 io.max lines ("M:m rbps=N wbps=max riops=max wiops=max"). */
int cgfs_quota_percent(int64_t quota_us, int64_t period_us, int64_t *ret);
int cgfs_parse_cpu_max(const char *text, int64_t *ret);
int cgfs_parse_dev_rules(const char *text, bool v2, enum conf_limit which, struct live_limits *l);
/* The file limit l is written to here, for messages ("cpu.cfs_quota_us", "io.max"); NULL: none. */
const char *cgfs_limit_file(const struct cgfs *fs, enum conf_limit l);
/* Is `name` reserved because it is (or could be) a cgroup control file: "tasks",
 * "notify_on_release", "release_agent", or "<controller>.<x>" ("cgroup.procs", "cpu.shares")? */
bool cgfs_name_is_control_file(const char *name);
/* The v2 weight file of s, as shown in plans ("cpu.weight", "io.weight"). */
const char *cgfs_v2_weight_file(enum conf_subsys s);
/* The PSI file of s, the same on v1 (where a kernel has one) and v2: "cpu.pressure",
 * "io.pressure", "memory.pressure"; NULL for pids. */
const char *cgfs_pressure_file(enum conf_subsys s);
/* The default [cgroup] dir. */
#define CGFS_DEFAULT_DIR "/sys/fs/cgroup"
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
