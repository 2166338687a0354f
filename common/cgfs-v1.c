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
 * for the rest of the handle's life. */
static const char *blkio_file(struct cgfs *fs, int dirfd, const char *name) {
        char p[CONF_NAME_MAX + 32];

        if (fs->blkio_weight_file)
                return fs->blkio_weight_file;
        for (size_t i = 0; i < ELEMENTSOF(blkio_weight_files); i++) {
                snprintf(p, sizeof(p), "%s%s%s", name, *name ? "/" : "", blkio_weight_files[i]);
                if (faccessat(dirfd, p, F_OK, 0) == 0)
                        return fs->blkio_weight_file = blkio_weight_files[i];
        }
        return NULL;
}

struct rl {
        struct cgfs *fs;
        struct live_tree *t;
        enum conf_subsys s;
        bool weights;
        struct cgfs_pathv *paths; /* cpuacct mirror: just collect */
};

static int rl_cb(void *ud, int dirfd, const char *name, const char *path) {
        struct rl *c = ud;
        int64_t w = -1;

        if (c->paths)
                return cgfs_pathv_add(c->paths, path);
        if (c->weights) {
                const char *f = c->s == CONF_CPU ? "cpu.shares" : blkio_file(c->fs, dirfd, name);
                char p[CONF_NAME_MAX + 32];
                if (f) {
                        snprintf(p, sizeof(p), "%s/%s", name, f);
                        w = read_weight_at(dirfd, p);
                }
        }
        return live_tree_add(c->t, c->s, path, w);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int cmp_entry(const void *a, const void *b) {
        return strcmp(((const struct live_entry *) a)->path, ((const struct live_entry *) b)->path);
}

/* cpu and cpuacct are separate hierarchies: an entry present in only one is `partial`. */
static int merge_mirror(struct live_tree *t, enum conf_subsys s, char **acct, size_t na) {
        size_t nc = t->n[s], i = 0, j = 0;
        int r;

        qsort(t->v[s], nc, sizeof(*t->v[s]), cmp_entry);
        qsort(acct, na, sizeof(*acct), cmp_str);
        while (i < nc || j < na) {
                int k = i >= nc ? 1 : j >= na ? -1 : strcmp(t->v[s][i].path, acct[j]);
                if (k == 0) {
                        i++;
                        j++;
                } else if (k < 0) {
                        t->v[s][i++].partial = true;
                } else {
                        r = live_tree_add(t, s, acct[j++], -1);
                        if (r < 0)
                                return r;
                        t->v[s][t->n[s] - 1].partial = true;
                }
        }
        return 0;
}

static int v1_read_live(struct cgfs *fs, struct live_tree *t) {
        int r;

        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                t->present[s] = fs->n_sub[s] > 0;
                for (size_t k = 0; k < fs->n_sub[s]; k++) {
                        struct cgfs_hier *h = &fs->h[fs->sub[s][k]];
                        struct cgfs_pathv paths = {};
                        struct rl c = { .fs = fs, .t = t, .s = s, .weights = k == 0 };

                        if (cgfs_hier_root_fd(fs, h) < 0) {
                                if (k > 0 && t->n[s] > 0) /* mirror missing entirely */
                                        for (size_t i = 0; i < t->n[s]; i++)
                                                t->v[s][i].partial = true;
                                continue;
                        }
                        if (k == 0) {
                                if (s == CONF_CPU)
                                        t->weight_unavailable[s] =
                                                faccessat(h->root_fd, "cpu.shares", F_OK, 0) < 0;
                                else if (*fs->root) /* bfq has no weight file at the root */
                                        t->weight_unavailable[s] = !blkio_file(fs, h->root_fd, "");
                        } else
                                c.paths = &paths;
                        r = cgfs_walk(h->root_fd, rl_cb, &c);
                        if (r >= 0 && k > 0)
                                r = merge_mirror(t, s, paths.v, paths.n);
                        cgfs_pathv_clear(&paths);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
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

static int v1_read_cpu_usage(struct cgfs *fs, const char *path, uint64_t *ret) {
        char file[CGFS_PATH_BUF + 32], buf[64];
        struct cgfs_hier *h;
        int r;

        if (fs->acct[CONF_CPU] < 0)
                return -ENOMEDIUM;
        h = &fs->h[fs->acct[CONF_CPU]];
        r = cgfs_hier_root_fd(fs, h);
        if (r < 0)
                return r;
        snprintf(file, sizeof(file), "%s%scpuacct.usage", path, *path ? "/" : "");
        r = cgfs_read_small_at(h->root_fd, file, buf, sizeof(buf));
        if (r < 0)
                return r;
        return acct_parse_cpuacct_usage(buf, ret);
}

const struct cgfs_ops cgfs_ops_v1 = {
        .name = "v1",
        .read_live = v1_read_live,
        .set_weight = v1_set_weight,
        .enable = v1_enable,
        .read_cpu_usage = v1_read_cpu_usage,
};
