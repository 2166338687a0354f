/* cgfs-v2.c — the cgroup v2 backend: one unified tree for every subsystem of the conf;
 * controllers enabled through cgroup.subtree_control along the parent chain (only those a
 * cgroup needs); cpu.weight and io.weight (io.bfq.weight where only that exists) in machine
 * units, converted by plan_v2_weight(); usage from cpu.stat.
 *
 * A weight file exists in a cgroup exactly when its parent enabled the controller, so the live
 * tree reports -1 ("not enabled") for a missing file and the planner plans PLAN_ENABLE. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acct.h"
#include "cgfs-internal.h"
#include "util.h"

static const char *v2_controller(enum conf_subsys s) {
        static const char *const c[_CONF_SUBSYS_MAX] = {
                [CONF_CPU] = "cpu", [CONF_BLKIO] = "io", [CONF_MEMORY] = "memory",
                [CONF_PIDS] = "pids"};
        return c[s];
}

/* memory and pids have no weight: a file every cgroup has once its parent enables the
 * controller tells whether it is enabled (the live "weight" is then 0, else -1). */
static const char *v2_presence_file(enum conf_subsys s) {
        return s == CONF_MEMORY ? "memory.max" : s == CONF_PIDS ? "pids.max" : NULL;
}

static struct cgfs_hier *v2_hier(struct cgfs *fs) {
        return fs->n_sub[CONF_CPU] ? &fs->h[fs->sub[CONF_CPU][0]] : NULL;
}

/* io.weight, else io.bfq.weight, in <dirfd>/<name> (name "" = dirfd itself); remembered
 * (atomically: the walk's threads call this). */
static const char *io_file(struct cgfs *fs, int dirfd, const char *name) {
        const char *const files[] = { cgfs_v2_weight_file(CONF_BLKIO), "io.bfq.weight" };
        const char *f = __atomic_load_n(&fs->io_weight_file, __ATOMIC_ACQUIRE);
        char p[CONF_NAME_MAX + 32];

        if (f)
                return f;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(p, sizeof(p), "%s%s%s", name, *name ? "/" : "", files[i]);
                if (faccessat(dirfd, p, F_OK, 0) == 0) {
                        f = files[i];
                        __atomic_store_n(&fs->io_weight_file, f, __ATOMIC_RELEASE);
                        return f;
                }
        }
        return NULL;
}

static int64_t read_weight_at(int dirfd, const char *file) {
        char buf[256];
        int64_t w;

        if (!file || cgfs_read_small_at(dirfd, file, buf, sizeof(buf)) < 0)
                return -1;
        if (cgfs_parse_weight(buf, &w) < 0)
                return -1;
        return w;
}

struct rl {
        struct cgfs *fs;
        const struct conf *conf;
        bool unavailable[_CONF_SUBSYS_MAX];
};

/* Per cgroup (any of the walk's threads): the weight of every subsystem, -1 where its file is
 * missing (the controller is not enabled there). */
static void rl_read(const struct cgfs_wtree *wt, int dirfd, const char *name, struct cgfs_wentry *e) {
        const struct rl *c = wt->userdata;
        char p[CONF_NAME_MAX + 32];

        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                const char *f;

                /* -1 also means "not enabled" (PLAN_ENABLE), so a conf node is always read */
                if (c->unavailable[s] || !cgfs_conf_wants(c->conf, s, name, e->path, false))
                        continue;
                if (v2_presence_file(s)) {
                        snprintf(p, sizeof(p), "%s/%s", name, v2_presence_file(s));
                        e->w[s] = faccessat(dirfd, p, F_OK, 0) == 0 ? 0 : -1;
                        continue;
                }
                f = s == CONF_CPU ? cgfs_v2_weight_file(s) : io_file(c->fs, dirfd, name);
                if (f) {
                        snprintf(p, sizeof(p), "%s/%s", name, f);
                        e->w[s] = read_weight_at(dirfd, p);
                }
        }
}

static int v2_read_live(struct cgfs *fs, const struct conf *conf, struct live_tree *t) {
        struct cgfs_hier *h = v2_hier(fs);
        _cleanup_free_ char *ctl = NULL;
        struct rl c = { .fs = fs, .conf = conf };
        struct cgfs_wtree w = {};
        int r = 0;

        t->v2 = true;
        if (!h)
                return 0;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                t->present[s] = true;
        if (cgfs_hier_root_fd(fs, h) < 0) {
                /* No managed root yet: judge controllers by the directory it will live in. */
                if (read_full_file_at(h->mount_fd, "cgroup.controllers", &ctl, NULL) < 0)
                        ctl = NULL;
                for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                        t->weight_unavailable[s] = !ctl || !cgfs_controllers_have(ctl, v2_controller(s));
                return 0;
        }
        if (read_full_file_at(h->root_fd, "cgroup.controllers", &ctl, NULL) < 0)
                ctl = NULL;
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                c.unavailable[s] = t->weight_unavailable[s] =
                        !ctl || !cgfs_controllers_have(ctl, v2_controller(s));
        w = (struct cgfs_wtree){ .root_fd = h->root_fd, .read = rl_read, .userdata = &c };
        r = cgfs_walk_trees(&w, 1);
        if (r < 0)
                return r;
        /* one union tree: every subsystem lists every path (already sorted) */
        for (size_t i = 0; i < w.n && r >= 0; i++)
                for (int s = _CONF_SUBSYS_MAX - 1; s >= 0 && r >= 0; s--) {
                        char *p = s == 0 ? TAKE_PTR(w.v[i].path) : strdup(w.v[i].path);
                        r = p ? live_tree_add_take(t, s, p, w.v[i].w[s]) : -ENOMEM;
                }
        cgfs_wtree_clear(&w);
        return r;
}

static int v2_set_weight(struct cgfs *fs, enum conf_subsys s, const char *path, int64_t w) {
        struct cgfs_hier *h = v2_hier(fs);
        _cleanup_close_ int dfd = -1;
        const char *f;
        char num[32];

        if (!h || h->root_fd < 0)
                return -ENOENT;
        dfd = openat(h->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return negative_errno();
        if (s != CONF_CPU && s != CONF_BLKIO)
                return -EINVAL; /* no weight (the planner plans none) */
        f = s == CONF_CPU ? cgfs_v2_weight_file(s) : io_file(fs, dfd, "");
        if (!f)
                return -ENOENT;
        snprintf(num, sizeof(num), "%" PRId64, plan_v2_weight(s, w));
        return cgfs_write_at(dfd, f, num);
}

/* Makes `ctl` available in <dir> (relative to the managed root, "" = the managed root itself),
 * i.e. enabled in its parent's subtree_control, walking up as far as needed; the managed
 * root's own availability is a given from outside (delegation) and never changed. */
static int make_available(struct cgfs_hier *h, const char *dir, const char *ctl, size_t *n);

/* Enables ctl in <dir>/cgroup.subtree_control so that dir's children get it. */
static int enable_in(struct cgfs_hier *h, const char *dir, const char *ctl, size_t *n) {
        char file[CGFS_PATH_BUF + 32], plus[32];
        _cleanup_free_ char *cur = NULL;
        int r;

        r = make_available(h, dir, ctl, n);
        if (r < 0)
                return r;
        snprintf(file, sizeof(file), "%s%scgroup.subtree_control", dir, *dir ? "/" : "");
        r = read_full_file_at(h->root_fd, file, &cur, NULL);
        if (r < 0)
                return r;
        if (cgfs_controllers_have(cur, ctl))
                return 0;
        snprintf(plus, sizeof(plus), "+%s", ctl);
        r = cgfs_write_at(h->root_fd, file, plus);
        if (r == -EBUSY && !*dir)
                return -EBUSY; /* processes in the managed root: "no internal processes" */
        if (r < 0)
                return r;
        (*n)++;
        return 0;
}

static int make_available(struct cgfs_hier *h, const char *dir, const char *ctl, size_t *n) {
        char file[CGFS_PATH_BUF + 32];
        _cleanup_free_ char *cur = NULL, *parent = NULL;
        int r;

        snprintf(file, sizeof(file), "%s%scgroup.controllers", dir, *dir ? "/" : "");
        r = read_full_file_at(h->root_fd, file, &cur, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && cgfs_controllers_have(cur, ctl))
                return 0;
        if (!*dir)
                return -EOPNOTSUPP; /* not delegated to the managed root */
        parent = strdup(dir);
        if (!parent)
                return -ENOMEM;
        char *slash = strrchr(parent, '/');
        if (slash)
                *slash = 0;
        else
                parent[0] = 0;
        return enable_in(h, parent, ctl, n);
}

static int v2_enable(struct cgfs *fs, enum conf_subsys s, const char *path, size_t *n) {
        struct cgfs_hier *h = v2_hier(fs);

        if (!h || h->root_fd < 0)
                return -ENOENT;
        return make_available(h, path, v2_controller(s), n);
}

static const char *v2_file_name(struct cgfs *fs, enum conf_subsys s, enum cgfs_file f) {
        (void) fs;
        switch (f) {
        case CGFS_FILE_PROCS:
                return "cgroup.procs";
        case CGFS_FILE_CPU_USAGE:
                return "cpu.stat";
        case CGFS_FILE_IO_STAT:
                return "io.stat";
        case CGFS_FILE_CPU_THROTTLE:
                return "cpu.stat";
        case CGFS_FILE_PRESSURE:
                return cgfs_pressure_file(s);
        case CGFS_FILE_MEM_USAGE:
                return "memory.current";
        case CGFS_FILE_MEM_PEAK:
                return "memory.peak";
        case CGFS_FILE_MEM_EVENTS:
                return "memory.events";
        case CGFS_FILE_PIDS_CURRENT:
                return "pids.current";
        default:
                return NULL; /* v2 counters cannot be reset, and count without a throttle rule */
        }
}

const struct cgfs_ops cgfs_ops_v2 = {
        .name = "v2",
        .read_live = v2_read_live,
        .set_weight = v2_set_weight,
        .enable = v2_enable,
        .file_name = v2_file_name,
        .parse_cpu_usage = acct_parse_cpu_stat, /* usage_usec * 1000: ns */
        .parse_io = acct_parse_io_stat,
};
