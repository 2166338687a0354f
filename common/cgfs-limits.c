/* cgfs-limits.c — the limits of the arch conf on the cgroup filesystem (issue 16): reading what
 * a cgroup has (into the live tree, conf units), writing and clearing one limit, and resolving
 * the conf's device paths on this host. v1 and v2 here side by side: the file names differ, the
 * shape is the same (one value per file, or one rule line per device).
 *
 *   limit          v1 file (first hierarchy of s)        v2 file        "no limit" (read / write)
 *   quota_percent  cpu.cfs_quota_us + cpu.cfs_period_us  cpu.max        -1 / "-1"; "max P" / "max"
 *   memory max     memory.limit_in_bytes                 memory.max     >= 2^62 / "-1"; "max"
 *   memory high    (none: v1 has no such file)           memory.high    "max"
 *   memory low     memory.soft_limit_in_bytes            memory.low     >= 2^62 / "-1"; "0"
 *   pids max       pids.max                              pids.max       "max"
 *   read_bps ...   blkio.throttle.read_bps_device ...    io.max         no line / "M:m 0"; "rbps=max"
 *
 * The quota is written with a period of 100 ms (the kernel's default): percent * 1000 us.
 * Returns >= 0 or -errno; never logs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgfs-internal.h"
#include "util.h"

#define QUOTA_PERIOD_US 100000
/* v1 prints "unlimited" as PAGE_COUNTER_MAX pages in bytes (~2^63): anything this big is none */
#define V1_MEM_UNLIMITED (INT64_C(1) << 62)

static const char *const v1_dev_files[CONF_LIMIT_N_DEVICE] = {
        "blkio.throttle.read_bps_device",
        "blkio.throttle.write_bps_device",
        "blkio.throttle.read_iops_device",
        "blkio.throttle.write_iops_device",
};
static const char *const v2_dev_keys[CONF_LIMIT_N_DEVICE] = { "rbps", "wbps", "riops", "wiops" };

/* ---- pure ---- */

int cgfs_quota_percent(int64_t quota_us, int64_t period_us, int64_t *ret) {
        if (quota_us < 0) {
                *ret = LIVE_LIMIT_NONE;
                return 0;
        }
        if (period_us <= 0)
                return -EINVAL;
        /* a percent only if one gives exactly this quota over this period */
        *ret = (quota_us * 100) % period_us == 0 ? quota_us * 100 / period_us : LIVE_LIMIT_OTHER;
        if (*ret == 0)
                *ret = LIVE_LIMIT_OTHER;
        return 0;
}

/* "N" or "max" (none_word) or a v1 number that means none. */
static int parse_scalar(const char *text, const char *none_word, int64_t *ret) {
        char num[32];
        size_t l = strcspn(text, "\n");
        int64_t v;
        int r;

        if (l == 0 || l >= sizeof(num))
                return -EINVAL;
        memcpy(num, text, l);
        num[l] = 0;
        if (none_word && strcmp(num, none_word) == 0) {
                *ret = LIVE_LIMIT_NONE;
                return 0;
        }
        r = safe_atoi64(num, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int cgfs_parse_cpu_max(const char *text, int64_t *ret) {
        char q[32];
        int64_t quota, period;
        int r;

        if (sscanf(text, "%31s %" SCNd64, q, &period) != 2)
                return -EINVAL;
        if (strcmp(q, "max") == 0)
                quota = -1;
        else {
                r = safe_atoi64(q, &quota);
                if (r < 0)
                        return r;
        }
        return cgfs_quota_percent(quota, period, ret);
}

/* "M:m" at p; advances *p. */
static int parse_devnum(const char **p, unsigned *ma, unsigned *mi) {
        char *end;
        unsigned long a, b;

        errno = 0;
        a = strtoul(*p, &end, 10);
        if (end == *p || *end != ':' || errno)
                return -EINVAL;
        *p = end + 1;
        b = strtoul(*p, &end, 10);
        if (end == *p || errno || a > 0xfff || b > 0xfffff)
                return -EINVAL;
        *p = end;
        *ma = (unsigned) a;
        *mi = (unsigned) b;
        return 0;
}

int cgfs_parse_dev_rules(const char *text, bool v2, enum conf_limit which, struct live_limits *l) {
        int r;

        for (const char *line = text; line && *line;) {
                size_t len = strcspn(line, "\n");
                const char *p = line, *end = line + len;
                struct live_dev_limit *d;
                unsigned ma, mi;

                if (len == 0)
                        goto next;
                r = parse_devnum(&p, &ma, &mi);
                if (r < 0)
                        return r;
                r = live_limits_dev(l, ma, mi, &d);
                if (r < 0)
                        return r;
                if (!v2) { /* v1: "M:m N" for one limit */
                        char num[32];
                        int64_t v;
                        p += strspn(p, " ");
                        if ((size_t) (end - p) >= sizeof(num) || end == p)
                                return -EINVAL;
                        memcpy(num, p, (size_t) (end - p));
                        num[end - p] = 0;
                        r = safe_atoi64(num, &v);
                        if (r < 0)
                                return r;
                        d->v[which - CONF_LIMIT_FIRST_DEVICE] = v > 0 ? v : LIVE_LIMIT_NONE;
                        goto next;
                }
                /* v2: "M:m rbps=N wbps=max riops=max wiops=max" */
                while (p < end) {
                        char key[16], val[32];
                        size_t kl, vl;
                        p += strspn(p, " ");
                        if (p >= end)
                                break;
                        kl = strcspn(p, "=");
                        if (kl == 0 || kl >= sizeof(key) || p + kl >= end)
                                return -EINVAL;
                        memcpy(key, p, kl);
                        key[kl] = 0;
                        p += kl + 1;
                        vl = strcspn(p, " \n");
                        if (vl == 0 || vl >= sizeof(val))
                                return -EINVAL;
                        memcpy(val, p, vl);
                        val[vl] = 0;
                        p += vl;
                        for (int k = 0; k < CONF_LIMIT_N_DEVICE; k++) {
                                int64_t v;
                                if (strcmp(key, v2_dev_keys[k]) != 0)
                                        continue;
                                if (strcmp(val, "max") == 0)
                                        v = LIVE_LIMIT_NONE;
                                else if (safe_atoi64(val, &v) < 0)
                                        return -EINVAL;
                                d->v[k] = v;
                        }
                }
        next:
                line = *end ? end + 1 : end;
        }
        /* devices with no rule left (all "max") are no entry at all */
        size_t o = 0;
        for (size_t i = 0; i < l->n_devs; i++) {
                bool any = false;
                for (int k = 0; k < CONF_LIMIT_N_DEVICE; k++)
                        any = any || l->devs[i].v[k] != LIVE_LIMIT_NONE;
                if (any)
                        l->devs[o++] = l->devs[i];
        }
        l->n_devs = o;
        return 0;
}

/* ---- reading ---- */

static struct cgfs_hier *limit_hier(struct cgfs *fs, enum conf_subsys s) {
        struct cgfs_hier *h;

        if (fs->n_sub[s] == 0)
                return NULL;
        h = &fs->h[fs->sub[s][0]]; /* v1 cpu: the cpu hierarchy (not cpuacct) */
        return cgfs_hier_root_fd(fs, h) < 0 ? NULL : h;
}

/* A device rule file (io.max, blkio.throttle.*), which grows with the number of rules. */
static int read_at(struct cgfs_hier *h, const char *path, const char *file, char **ret) {
        char p[CGFS_PATH_BUF + 64];

        snprintf(p, sizeof(p), "%s/%s", path, file);
        return read_full_file_at(h->root_fd, p, ret, NULL);
}

/* A single-value limit file ("max", a number, "max 100000"): one read() into buf. */
static int read_value_at(struct cgfs_hier *h, const char *path, const char *file, char *buf,
                         size_t size) {
        char p[CGFS_PATH_BUF + 64];

        snprintf(p, sizeof(p), "%s/%s", path, file);
        return cgfs_read_small_at(h->root_fd, p, buf, size);
}

static int read_one(struct cgfs *fs, struct cgfs_hier *h, enum conf_subsys s, const char *path,
                    struct live_limits *l) {
        _cleanup_free_ char *a = NULL;
        char b1[128], b2[128];
        int64_t v, w;
        int r;

        switch (s) {
        case CONF_CPU:
                if (fs->v2) {
                        if (read_value_at(h, path, "cpu.max", b1, sizeof(b1)) < 0)
                                return 0;
                        return cgfs_parse_cpu_max(b1, &l->v[CONF_LIMIT_CPU_QUOTA]);
                }
                if (read_value_at(h, path, "cpu.cfs_quota_us", b1, sizeof(b1)) < 0 ||
                    parse_scalar(b1, NULL, &v) < 0)
                        return 0;
                if (v < 0)
                        return 0;
                if (read_value_at(h, path, "cpu.cfs_period_us", b2, sizeof(b2)) < 0 ||
                    parse_scalar(b2, NULL, &w) < 0)
                        return 0;
                return cgfs_quota_percent(v, w, &l->v[CONF_LIMIT_CPU_QUOTA]);
        case CONF_MEMORY: {
                static const char *const v1f[] = { "memory.limit_in_bytes", NULL,
                                                   "memory.soft_limit_in_bytes" };
                static const char *const v2f[] = { "memory.max", "memory.high", "memory.low" };
                for (int k = 0; k < 3; k++) {
                        const char *f = fs->v2 ? v2f[k] : v1f[k];
                        if (!f || read_value_at(h, path, f, b1, sizeof(b1)) < 0)
                                continue;
                        r = parse_scalar(b1, fs->v2 ? (k == 2 ? "0" : "max") : NULL, &v);
                        if (r < 0)
                                continue;
                        if (!fs->v2 && v >= V1_MEM_UNLIMITED)
                                v = LIVE_LIMIT_NONE;
                        if (fs->v2 && k == 2 && v == 0)
                                v = LIVE_LIMIT_NONE;
                        l->v[CONF_LIMIT_MEM_MAX + k] = v;
                }
                return 0;
        }
        case CONF_PIDS:
                if (read_value_at(h, path, "pids.max", b1, sizeof(b1)) < 0)
                        return 0;
                (void) parse_scalar(b1, "max", &l->v[CONF_LIMIT_PIDS_MAX]); /* unreadable: none */
                return 0;
        case CONF_BLKIO:
                if (fs->v2) {
                        if (read_at(h, path, "io.max", &a) < 0)
                                return 0;
                        r = cgfs_parse_dev_rules(a, true, CONF_LIMIT_READ_BPS, l);
                        return r == -ENOMEM ? r : 0;
                }
                for (int k = 0; k < CONF_LIMIT_N_DEVICE; k++) {
                        _cleanup_free_ char *t = NULL;
                        if (read_at(h, path, v1_dev_files[k], &t) < 0)
                                continue;
                        r = cgfs_parse_dev_rules(t, false, CONF_LIMIT_FIRST_DEVICE + k, l);
                        if (r == -ENOMEM)
                                return r;
                }
                return 0;
        default:
                return 0;
        }
}

static bool limits_any(const struct live_limits *l) {
        for (int k = 0; k < _CONF_LIMIT_MAX; k++)
                if (l->v[k] != LIVE_LIMIT_NONE)
                        return true;
        return l->n_devs > 0;
}

/* Resolves every device path the conf's blkio tree names (stat(2), st_rdev). */
static int resolve_devs(const struct conf_node *n, struct live_tree *t) {
        int r;

        for (size_t i = 0; n->limits && i < n->limits->n_devs; i++) {
                const char *key = n->limits->devs[i].dev;
                struct stat st;
                int err = 0;

                if (conf_device_parse(key, NULL, NULL) != 0)
                        continue; /* MAJ:MIN: nothing to resolve */
                if (stat(key, &st) < 0)
                        err = -errno;
                else if (!S_ISBLK(st.st_mode))
                        err = -ENOTBLK;
                r = live_tree_add_dev(t, key, err, err ? 0 : major(st.st_rdev),
                                      err ? 0 : minor(st.st_rdev));
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n->n_children; i++) {
                r = resolve_devs(n->children[i], t);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgfs_resolve_devices(const struct conf *c, struct live_tree *t) {
        for (size_t i = 0; i < t->n_devs; i++)
                free(t->devs[i].key);
        t->devs = mfree(t->devs);
        t->n_devs = 0;
        return c && c->roots[CONF_BLKIO] ? resolve_devs(c->roots[CONF_BLKIO], t) : 0;
}

int cgfs_limits_read(struct cgfs *fs, const struct conf *c, struct live_tree *t) {
        long n = sysconf(_SC_NPROCESSORS_ONLN), ps = sysconf(_SC_PAGESIZE);
        int r;

        t->ncpus = n > 0 ? (unsigned) n : 0;
        t->page_size = ps > 0 ? (unsigned) ps : 4096;
        t->limit_unsupported[CONF_LIMIT_MEM_HIGH] = !fs->v2; /* v1 has no memory.high */
        r = cgfs_resolve_devices(c, t);
        if (r < 0 || fs->sd)
                return r; /* systemd mode: the limits are unit properties (sdslice_read_live) */
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++) {
                struct cgfs_hier *h;

                if (c && !c->roots[s])
                        continue;
                h = limit_hier(fs, s);
                if (!h)
                        continue;
                for (size_t i = 0; i < t->n[s]; i++) {
                        struct live_entry *e = &t->v[s][i];
                        const char *name = strrchr(e->path, '/');
                        struct live_limits *l;

                        name = name ? name + 1 : e->path;
                        if (!cgfs_conf_wants(c, s, name, e->path, false))
                                continue;
                        if (fs->v2 && e->weight < 0)
                                continue; /* controller not enabled there: no limit files */
                        l = live_limits_new();
                        if (!l)
                                return -ENOMEM;
                        r = read_one(fs, h, s, e->path, l);
                        if (r < 0) {
                                live_limits_free(l);
                                return r;
                        }
                        if (limits_any(l)) {
                                live_limits_free(e->limits);
                                e->limits = l;
                        } else
                                live_limits_free(l);
                }
        }
        return 0;
}

/* ---- writing ---- */

int cgfs_limits_write(struct cgfs *fs, const struct plan_op *o) {
        char file[CGFS_PATH_BUF + 64], text[96];
        enum conf_subsys s = conf_limit_subsys(o->limit);
        bool clear = o->type == PLAN_CLEAR_LIMIT;
        struct cgfs_hier *h = limit_hier(fs, s);
        const char *f = NULL;
        int r;

        if (!h)
                return -ENOENT;
        switch (o->limit) {
        case CONF_LIMIT_CPU_QUOTA:
                if (fs->v2) {
                        f = "cpu.max";
                        if (clear)
                                snprintf(text, sizeof(text), "max %d", QUOTA_PERIOD_US);
                        else
                                snprintf(text, sizeof(text), "%" PRId64 " %d",
                                         o->value * (QUOTA_PERIOD_US / 100), QUOTA_PERIOD_US);
                        break;
                }
                if (!clear) {
                        snprintf(file, sizeof(file), "%s/cpu.cfs_period_us", o->path);
                        snprintf(text, sizeof(text), "%d", QUOTA_PERIOD_US);
                        r = cgfs_write_at(h->root_fd, file, text);
                        if (r < 0)
                                return r;
                }
                f = "cpu.cfs_quota_us";
                if (clear)
                        snprintf(text, sizeof(text), "-1");
                else
                        snprintf(text, sizeof(text), "%" PRId64, o->value * (QUOTA_PERIOD_US / 100));
                break;
        case CONF_LIMIT_MEM_MAX:
        case CONF_LIMIT_MEM_HIGH:
        case CONF_LIMIT_MEM_LOW:
                if (fs->v2)
                        f = o->limit == CONF_LIMIT_MEM_MAX    ? "memory.max"
                            : o->limit == CONF_LIMIT_MEM_HIGH ? "memory.high"
                                                              : "memory.low";
                else if (o->limit == CONF_LIMIT_MEM_HIGH)
                        return -EOPNOTSUPP;
                else
                        f = o->limit == CONF_LIMIT_MEM_MAX ? "memory.limit_in_bytes"
                                                           : "memory.soft_limit_in_bytes";
                if (!clear)
                        snprintf(text, sizeof(text), "%" PRId64, o->value);
                else
                        snprintf(text, sizeof(text), "%s",
                                 !fs->v2 ? "-1" : o->limit == CONF_LIMIT_MEM_LOW ? "0" : "max");
                break;
        case CONF_LIMIT_PIDS_MAX:
                f = "pids.max";
                if (clear)
                        snprintf(text, sizeof(text), "max");
                else
                        snprintf(text, sizeof(text), "%" PRId64, o->value);
                break;
        default: {
                int k = (int) o->limit - CONF_LIMIT_FIRST_DEVICE;
                if (k < 0 || k >= CONF_LIMIT_N_DEVICE)
                        return -EINVAL;
                if (fs->v2) {
                        f = "io.max";
                        if (clear)
                                snprintf(text, sizeof(text), "%u:%u %s=max", o->major, o->minor,
                                         v2_dev_keys[k]);
                        else
                                snprintf(text, sizeof(text), "%u:%u %s=%" PRId64, o->major,
                                         o->minor, v2_dev_keys[k], o->value);
                } else {
                        f = v1_dev_files[k];
                        /* 0 removes the rule */
                        snprintf(text, sizeof(text), "%u:%u %" PRId64, o->major, o->minor,
                                 clear ? 0 : o->value);
                }
        }
        }
        snprintf(file, sizeof(file), "%s/%s", o->path, f);
        return cgfs_write_at(h->root_fd, file, text);
}

const char *cgfs_limit_file(const struct cgfs *fs, enum conf_limit l) {
        static const char *const v1[_CONF_LIMIT_MAX] = {
                [CONF_LIMIT_CPU_QUOTA] = "cpu.cfs_quota_us",
                [CONF_LIMIT_MEM_MAX] = "memory.limit_in_bytes",
                [CONF_LIMIT_MEM_LOW] = "memory.soft_limit_in_bytes",
                [CONF_LIMIT_PIDS_MAX] = "pids.max",
                [CONF_LIMIT_READ_BPS] = "blkio.throttle.read_bps_device",
                [CONF_LIMIT_WRITE_BPS] = "blkio.throttle.write_bps_device",
                [CONF_LIMIT_READ_IOPS] = "blkio.throttle.read_iops_device",
                [CONF_LIMIT_WRITE_IOPS] = "blkio.throttle.write_iops_device",
        };
        static const char *const v2[_CONF_LIMIT_MAX] = {
                [CONF_LIMIT_CPU_QUOTA] = "cpu.max",        [CONF_LIMIT_MEM_MAX] = "memory.max",
                [CONF_LIMIT_MEM_HIGH] = "memory.high",     [CONF_LIMIT_MEM_LOW] = "memory.low",
                [CONF_LIMIT_PIDS_MAX] = "pids.max",        [CONF_LIMIT_READ_BPS] = "io.max",
                [CONF_LIMIT_WRITE_BPS] = "io.max",         [CONF_LIMIT_READ_IOPS] = "io.max",
                [CONF_LIMIT_WRITE_IOPS] = "io.max",
        };
        if ((unsigned) l >= _CONF_LIMIT_MAX)
                return NULL;
        return fs->v2 ? v2[l] : v1[l];
}
