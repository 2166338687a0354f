/* cgfs-v1.c — the cgroup v1 backend: one hierarchy per controller (cpu and cpuacct mirrored
 * when they are separate), cpu.shares, blkio.weight or blkio.bfq.weight, cpuacct.usage. */
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

static const char *const blkio_weight_files[] = { "blkio.weight", "blkio.bfq.weight" };

/* Reads a weight; -1 when the file is missing or unreadable (the planner then writes it). */
static int64_t read_weight_at(int dirfd, const char *file) {
        char buf[256];
        int64_t w;

        if (cgfs_read_small_at(dirfd, file, buf, sizeof(buf)) < 0)
                return -1;
        if (cgfs_parse_weight(buf, &w) < 0)
                return -1;
        return w;
}

/* The blkio weight file that exists in <dirfd>/<name> (name "" = dirfd itself), remembered
 * for the rest of the handle's life. Called from the walk's threads: the cache is atomic (two
 * threads may both probe; they find the same file). */
static const char *blkio_file(struct cgfs *fs, int dirfd, const char *name) {
        const char *f = __atomic_load_n(&fs->blkio_weight_file, __ATOMIC_ACQUIRE);
        char p[CONF_NAME_MAX + 32];

        if (f)
                return f;
        for (size_t i = 0; i < ELEMENTSOF(blkio_weight_files); i++) {
                snprintf(p, sizeof(p), "%s%s%s", name, *name ? "/" : "", blkio_weight_files[i]);
                if (faccessat(dirfd, p, F_OK, 0) == 0) {
                        f = blkio_weight_files[i];
                        __atomic_store_n(&fs->blkio_weight_file, f, __ATOMIC_RELEASE);
                        return f;
                }
        }
        return NULL;
}

struct rl {
        struct cgfs *fs;
        const struct conf *conf;
        enum conf_subsys s;
};

/* The walk's per-cgroup callback of the hierarchy holding the weight file (any thread). */
static void rl_read(const struct cgfs_wtree *wt, int dirfd, const char *name, struct cgfs_wentry *e) {
        const struct rl *c = wt->userdata;
        char p[CONF_NAME_MAX + 32];
        const char *f;

        if (!cgfs_conf_wants(c->conf, c->s, name, e->path, true))
                return;
        f = c->s == CONF_CPU ? "cpu.shares" : blkio_file(c->fs, dirfd, name);
        if (!f)
                return;
        snprintf(p, sizeof(p), "%s/%s", name, f);
        e->w[0] = read_weight_at(dirfd, p);
}

/* cpu and cpuacct are separate hierarchies: an entry present in only one is `partial`. Both
 * lists are sorted by path; acct's paths move into t (acct->v[i].path set to NULL). */
static int merge_mirror(struct live_tree *t, enum conf_subsys s, struct cgfs_wtree *acct) {
        size_t nc = t->n[s], na = acct->n, i = 0, j = 0;
        bool added = false;
        int r;

        while (i < nc || j < na) {
                int k = i >= nc ? 1 : j >= na ? -1 : strcmp(t->v[s][i].path, acct->v[j].path);
                if (k == 0) {
                        i++;
                        j++;
                } else if (k < 0) {
                        t->v[s][i++].partial = true;
                } else {
                        r = live_tree_add_take(t, s, TAKE_PTR(acct->v[j].path), -1);
                        j++;
                        if (r < 0)
                                return r;
                        t->v[s][t->n[s] - 1].partial = true;
                        added = true;
                }
        }
        if (added) /* keep the tree sorted by path */
                qsort(t->v[s], t->n[s], sizeof(*t->v[s]), cgfs_cmp_live_entry);
        return 0;
}

static int v1_read_live(struct cgfs *fs, const struct conf *conf, struct live_tree *t) {
        struct cgfs_wtree trees[_CONF_SUBSYS_MAX * CGFS_MAX_HIERS_PER_SUBSYS] = {};
        int tree_of[_CONF_SUBSYS_MAX][CGFS_MAX_HIERS_PER_SUBSYS];
        struct rl rl[_CONF_SUBSYS_MAX];
        size_t nt = 0;
        int r;

        /* 1. which trees to walk, and what can be known from the managed roots alone */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                t->present[s] = fs->n_sub[s] > 0;
                rl[s] = (struct rl){ .fs = fs, .conf = conf, .s = s };
                for (size_t k = 0; k < fs->n_sub[s]; k++) {
                        struct cgfs_hier *h = &fs->h[fs->sub[s][k]];

                        tree_of[s][k] = -1;
                        if (cgfs_hier_root_fd(fs, h) < 0)
                                continue;
                        if (k == 0) {
                                if (s == CONF_CPU)
                                        t->weight_unavailable[s] =
                                                faccessat(h->root_fd, "cpu.shares", F_OK, 0) < 0;
                                else if (s == CONF_BLKIO && *fs->root) /* bfq: none at the root */
                                        t->weight_unavailable[s] = !blkio_file(fs, h->root_fd, "");
                        }
                        if (conf && !conf->roots[s])
                                continue; /* the planner leaves this subsystem alone */
                        tree_of[s][k] = (int) nt;
                        trees[nt++] = (struct cgfs_wtree){
                                .root_fd = h->root_fd,
                                /* weights live in the first hierarchy only (cpu, not cpuacct) */
                                .read = k == 0 && !t->weight_unavailable[s] &&
                                                (s == CONF_CPU || s == CONF_BLKIO)
                                        ? rl_read
                                        : NULL,
                                .userdata = &rl[s],
                        };
                }
        }
        /* 2. every hierarchy and subtree at once */
        r = cgfs_walk_trees(trees, nt);
        if (r < 0)
                return r;
        /* 3. the live tree: the first hierarchy's entries, merged with the mirror's */
        for (int s = 0; s < _CONF_SUBSYS_MAX && r >= 0; s++) {
                if (fs->n_sub[s] == 0 || (conf && !conf->roots[s]))
                        continue;
                if (tree_of[s][0] >= 0) {
                        struct cgfs_wtree *w = &trees[tree_of[s][0]];
                        for (size_t i = 0; i < w->n && r >= 0; i++)
                                r = live_tree_add_take(t, s, TAKE_PTR(w->v[i].path), w->v[i].w[0]);
                }
                if (r < 0 || fs->n_sub[s] < 2)
                        continue;
                if (tree_of[s][1] >= 0)
                        r = merge_mirror(t, s, &trees[tree_of[s][1]]);
                else /* mirror missing entirely */
                        for (size_t i = 0; i < t->n[s]; i++)
                                t->v[s][i].partial = true;
        }
        for (size_t i = 0; i < nt; i++)
                cgfs_wtree_clear(&trees[i]); /* NULL-safe: moved paths are NULL */
        return r;
}

static int v1_set_weight(struct cgfs *fs, enum conf_subsys s, const char *path, int64_t w) {
        char file[CGFS_PATH_BUF + 32], num[32];
        struct cgfs_hier *h;
        _cleanup_close_ int dfd = -1;
        const char *f;

        if (fs->n_sub[s] == 0)
                return -ENOMEDIUM;
        h = &fs->h[fs->sub[s][0]];
        if (h->root_fd < 0)
                return -ENOENT;
        snprintf(num, sizeof(num), "%" PRId64, w);
        if (s == CONF_CPU) {
                snprintf(file, sizeof(file), "%s/cpu.shares", path);
                return cgfs_write_at(h->root_fd, file, num);
        }
        dfd = openat(h->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return negative_errno();
        f = blkio_file(fs, dfd, "");
        if (!f)
                return -ENOENT;
        return cgfs_write_at(dfd, f, num);
}

static int v1_enable(struct cgfs *fs, enum conf_subsys s, const char *path, size_t *n) {
        (void) fs;
        (void) s;
        (void) path;
        (void) n;
        return -EOPNOTSUPP; /* v1 has no subtree_control: every controller is always there */
}

/* The accounting file read in each cgroup: cumulative and hierarchical like cpuacct.usage. The
 * classic (CFQ) blkio file where the kernel has it, else the throttle layer's, which counts once
 * throttling is active on the disk (cgfs_io_needs_throttle_rule). Probed in the managed root
 * and remembered once found there. */
static const char *v1_io_stat_file(struct cgfs *fs) {
        static const char *const files[] = {
                "blkio.io_service_bytes_recursive",
                "blkio.throttle.io_service_bytes_recursive",
                "blkio.throttle.io_service_bytes",
        };
        struct cgfs_hier *h;

        if (fs->io_stat_file)
                return fs->io_stat_file;
        if (fs->acct[CONF_BLKIO] < 0)
                return files[1];
        h = &fs->h[fs->acct[CONF_BLKIO]];
        if (cgfs_hier_root_fd(fs, h) < 0)
                return files[1]; /* no managed root yet: probed again once it exists */
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (faccessat(h->root_fd, files[i], F_OK, 0) == 0)
                        return (fs->io_stat_file = files[i]);
        return files[1];
}

static const char *v1_file_name(struct cgfs *fs, enum conf_subsys s, enum cgfs_file f) {
        switch (f) {
        case CGFS_FILE_PROCS:
                return "cgroup.procs";
        case CGFS_FILE_CPU_USAGE:
                return "cpuacct.usage";
        case CGFS_FILE_IO_STAT:
                return v1_io_stat_file(fs);
        case CGFS_FILE_THROTTLE_RULE:
                return "blkio.throttle.read_bps_device";
        case CGFS_FILE_RESET:
                return s == CONF_CPU ? "cpuacct.usage" : "blkio.reset_stats";
        case CGFS_FILE_CPU_THROTTLE:
                return "cpu.stat"; /* the cpu hierarchy's (cgfs-file.c file_hier) */
        case CGFS_FILE_PRESSURE: /* only kernels with PSI for v1 have it: else -ENOENT */
                return cgfs_pressure_file(s);
        case CGFS_FILE_MEM_USAGE:
                return "memory.usage_in_bytes";
        case CGFS_FILE_MEM_PEAK:
                return "memory.max_usage_in_bytes";
        case CGFS_FILE_MEM_EVENTS:
                return "memory.failcnt";
        case CGFS_FILE_PIDS_CURRENT:
                return "pids.current";
        default:
                return NULL;
        }
}

const struct cgfs_ops cgfs_ops_v1 = {
        .name = "v1",
        .read_live = v1_read_live,
        .set_weight = v1_set_weight,
        .enable = v1_enable,
        .file_name = v1_file_name,
        .parse_cpu_usage = acct_parse_cpuacct_usage,
        .parse_io = acct_parse_blkio_v1,
};
