/* conf.h — the arch conf model (docs/design.md "The arch conf"): parse + validate from a buffer,
 * canonical JSON, lookups, cgexec arguments (the planner is in plan.h). No I/O; never logs.
 * Returns >= 0 or -errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

enum conf_subsys {
        CONF_CPU,    /* conf key "share" (2..262144, default 1024); covers cpu + cpuacct;
                        limit quota_percent */
        CONF_BLKIO,  /* conf key "weight" (10..1000, no default: unset means not written);
                        limits read_bps, write_bps, read_iops, write_iops ({"<device>": N}) */
        CONF_MEMORY, /* no weight; limits max, high, low (bytes) */
        CONF_PIDS,   /* no weight; limit max (tasks) */
        _CONF_SUBSYS_MAX,
};

/* The limits (docs/design.md "Limits"). A node sets the limits of its own
 * subsystem only; a limit the conf does not set means "no limit" on the machine. */
enum conf_limit {
        CONF_LIMIT_CPU_QUOTA,  /* cpu.conf.quota_percent: % of one CPU, 1..102400 (1024 CPUs);
                                  clamped to 100 x online CPUs when planned */
        CONF_LIMIT_MEM_MAX,    /* memory.conf.max, bytes */
        CONF_LIMIT_MEM_HIGH,   /* memory.conf.high, bytes (cgroup v1 has none) */
        CONF_LIMIT_MEM_LOW,    /* memory.conf.low, bytes (v1: the soft limit) */
        CONF_LIMIT_PIDS_MAX,   /* pids.conf.max, tasks */
        CONF_LIMIT_READ_BPS,   /* blkio.conf.read_bps: {"<device>": bytes/s} */
        CONF_LIMIT_WRITE_BPS,  /* blkio.conf.write_bps */
        CONF_LIMIT_READ_IOPS,  /* blkio.conf.read_iops: {"<device>": IO/s} */
        CONF_LIMIT_WRITE_IOPS, /* blkio.conf.write_iops */
        _CONF_LIMIT_MAX,
};
#define CONF_LIMIT_FIRST_DEVICE CONF_LIMIT_READ_BPS
#define CONF_LIMIT_N_DEVICE (_CONF_LIMIT_MAX - CONF_LIMIT_FIRST_DEVICE)
static inline bool conf_limit_is_device(enum conf_limit l) {
        return l >= CONF_LIMIT_FIRST_DEVICE && l < _CONF_LIMIT_MAX;
}
#define CONF_QUOTA_PERCENT_MAX (100 * 1024)
#define CONF_MEMORY_MIN 4096               /* one page */
#define CONF_MEMORY_MAX (INT64_C(1) << 52) /* 4 PiB */
#define CONF_PIDS_MAX 4194304              /* PID_MAX_LIMIT */
#define CONF_BPS_MAX (INT64_C(1) << 50)    /* 1 PiB/s */
#define CONF_IOPS_MAX INT64_C(4294967294)  /* below v1's "unlimited" UINT_MAX */
#define CONF_DEVICE_MAX 255                /* bytes of a device key */

/* The conf key ("quota_percent", "max", "high", "low", "max", "read_bps", ...). */
const char *conf_limit_name(enum conf_limit l);
enum conf_subsys conf_limit_subsys(enum conf_limit l);
/* A device key of a blkio limit: "MAJ:MIN" (decimal, major < 4096, minor < 2^20) -> 1 and the
 * numbers; a block device path "/dev/..." (printable, no "..", no "//") -> 0; else -EINVAL. */
int conf_device_parse(const char *key, unsigned *ret_major, unsigned *ret_minor);

/* One device entry of a blkio limit map, in conf order per key. */
struct conf_dev_limit {
        enum conf_limit limit; /* one of the device limits */
        char *dev;             /* owned: the key as written, "/dev/sda" or "8:0" */
        int64_t value;
};
struct conf_limits {
        int64_t v[_CONF_LIMIT_MAX]; /* scalar limits; -1: not set (device entries: unused) */
        struct conf_dev_limit *devs; /* owned */
        size_t n_devs;
};

#define CONF_MAX_DEPTH 32
#define CONF_MAX_NODES 100000
#define CONF_NAME_MAX 255
/* A node's relative path longer than this is refused: mkdir(2) of <dir>/<hierarchy>/<root>/<path>
 * must stay under PATH_MAX (4096), which leaves 512 bytes for the mount point and the root. */
#define CONF_PATH_MAX 3584
/* Bound on the memory a conf can make us allocate for paths (deep trees of long names). */
#define CONF_PATHS_BYTES_MAX (64u << 20)
/* At most this many problems are listed; one more entry then says how many were left out. */
#define CONF_MAX_ERRORS 100

const char *conf_subsys_name(enum conf_subsys s); /* "cpu", "blkio", "memory", "pids" */
int conf_subsys_from_name(const char *name);      /* enum value or -EINVAL */

struct conf_node {
        char *name;               /* NULL for a subsystem root */
        char *path;               /* relative to the subsystem root: "" for it, "a", "a/b" */
        unsigned depth;           /* 0 for the subsystem root */
        struct conf_node *parent; /* NULL for the subsystem root; not owned */
        struct conf_node **children; /* owned, in conf (JSON) order */
        size_t n_children;
        int64_t weight; /* share (cpu) or weight (blkio); -1 when not set (memory, pids: always) */
        struct conf_limits *limits; /* owned; NULL when the node sets no limit */
};

struct conf_index; /* private to conf.c */
struct conf {
        struct conf_node *roots[_CONF_SUBSYS_MAX]; /* NULL when the subsystem is absent */
        size_t n_nodes;                            /* all nodes except the roots */
        int64_t version;                           /* ZooKeeper data version; -1 if unknown */
        /* Name -> node, filled by conf_parse(); NULL in a hand-built conf (conf_find() then
         * walks the tree). Owned, freed by conf_free(). */
        struct conf_index *index[_CONF_SUBSYS_MAX];
};

/* One validation problem: "<json path>: <what>", e.g. "cpu.sub_cgroup.a/b: invalid cgroup name". */
struct conf_error {
        char *path; /* owned */
        char *msg;  /* owned */
};
struct conf_errors {
        struct conf_error *v;
        size_t n, cap;
};
void conf_errors_clear(struct conf_errors *e);
/* Formats all problems, one per line, "path: msg", prefixed by "version N: " when version >= 0. */
int conf_errors_format(const struct conf_errors *e, int64_t version, char **ret);

/* Parses and validates the whole conf. On any problem returns -EINVAL, fills *errs (if non-NULL)
 * with every problem found (not only the first), and leaves *ret untouched. */
int conf_parse(const char *buf, size_t len, struct conf **ret, struct conf_errors *errs);
/* What conf_parse_text() accepts: the bare conf, the snapshot {"version": N, "value": conf}
 * (snapshot.h), or either (an object with a "version" or "value" key is taken as a snapshot). */
enum conf_text {
        CONF_TEXT_CONF,
        CONF_TEXT_SNAPSHOT,
        CONF_TEXT_ANY,
};
/* As conf_parse(); for a snapshot (*ret)->version is its version, else -1. Error paths are
 * those of the conf itself (no "value." prefix); snapshot-level problems use "version"/"value". */
int conf_parse_text(const char *buf, size_t len, enum conf_text kind, struct conf **ret,
                    struct conf_errors *errs);
struct conf *conf_free(struct conf *c);
DEFINE_CLEANUP_FUNC(struct conf, conf_free)

/* The conf back to canonical JSON (keys in model order), e.g. to write the snapshot. Owned. */
int conf_to_json(const struct conf *c, char **ret);

/* Finds the node called `name` in subsystem s (names are unique per subsystem tree). */
const struct conf_node *conf_find(const struct conf *c, enum conf_subsys s, const char *name);

/* The seed's get_cgexec_arg for one name: "-g cpu:a/b -g blkio:a/b" (paths relative to the
 * hierarchy root, i.e. prefixed with `root` when non-empty), one flag per tree that holds it.
 * With CONF_CGEXEC_CPUACCT the cpu tree also names cpuacct ("-g cpu:a/b -g cpuacct:a/b"): where
 * cpuacct is a v1 hierarchy of its own, cgexec must be told both, or the process is not counted.
 * -ENOENT when no tree holds it. */
#define CONF_CGEXEC_CPUACCT (1u << 0)
int conf_cgexec_arg(const struct conf *c, const char *root, const char *name, unsigned flags,
                    char **ret);

/* Names reserved because they are cgroup control files: "tasks", "cgroup.procs", "cpu.shares",
 * "notify_on_release", anything "<controller>.<x>" for known controllers, ... */
bool conf_name_is_control_file(const char *name);
/* The whole name rule: 1..255 bytes of [A-Za-z0-9_][A-Za-z0-9_.-]* and not a control-file name. */
bool conf_name_is_valid(const char *name);

