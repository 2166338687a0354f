/* conf.h — the arch conf model (DESIGN.md "The arch conf"): parse + validate from a buffer,
 * canonical JSON, lookups, cgexec arguments (the planner is in plan.h). No I/O; never logs.
 * Returns >= 0 or -errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

enum conf_subsys {
        CONF_CPU,   /* conf key "share" (2..262144, default 1024); covers cpu + cpuacct */
        CONF_BLKIO, /* conf key "weight" (10..1000, no default: unset means not written) */
        _CONF_SUBSYS_MAX,
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

const char *conf_subsys_name(enum conf_subsys s); /* "cpu", "blkio" */
int conf_subsys_from_name(const char *name);      /* enum value or -EINVAL */

struct conf_node {
        char *name;               /* NULL for a subsystem root */
        char *path;               /* relative to the subsystem root: "" for it, "a", "a/b" */
        unsigned depth;           /* 0 for the subsystem root */
        struct conf_node *parent; /* NULL for the subsystem root; not owned */
        struct conf_node **children; /* owned, in conf (JSON) order */
        size_t n_children;
        int64_t weight; /* share (cpu) or weight (blkio); -1 when not set */
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
 * hierarchy root, i.e. prefixed with `root` when non-empty). -ENOENT when no tree holds it. */
int conf_cgexec_arg(const struct conf *c, const char *root, const char *name, char **ret);

/* Names reserved because they are cgroup control files: "tasks", "cgroup.procs", "cpu.shares",
 * "notify_on_release", anything "<controller>.<x>" for known controllers, ... */
bool conf_name_is_control_file(const char *name);
/* The whole name rule: 1..255 bytes of [A-Za-z0-9_][A-Za-z0-9_.-]* and not a control-file name. */
bool conf_name_is_valid(const char *name);

