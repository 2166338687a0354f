/* conf.h — the arch conf model (DESIGN.md "The arch conf"): parse + validate from a buffer,
 * the live-tree model and the pure planner. No I/O here; never logs. Returns >= 0 or -errno. */
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

struct conf {
        struct conf_node *roots[_CONF_SUBSYS_MAX]; /* NULL when the subsystem is absent */
        size_t n_nodes;                            /* all nodes except the roots */
        int64_t version;                           /* ZooKeeper data version; -1 if unknown */
};

/* One validation problem: "<json path>: <what>", e.g. "cpu.sub_cgroup.a/b: invalid cgroup name". */
struct conf_error {
        char *path; /* owned */
        char *msg;  /* owned */
};
struct conf_errors {
        struct conf_error *v;
        size_t n;
};
void conf_errors_clear(struct conf_errors *e);
/* Formats all problems, one per line, "path: msg", prefixed by "version N: " when version >= 0. */
int conf_errors_format(const struct conf_errors *e, int64_t version, char **ret);

/* Parses and validates the whole conf. On any problem returns -EINVAL, fills *errs (if non-NULL)
 * with every problem found (not only the first), and leaves *ret untouched. */
int conf_parse(const char *buf, size_t len, struct conf **ret, struct conf_errors *errs);
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
bool conf_name_is_valid(const char *name);

