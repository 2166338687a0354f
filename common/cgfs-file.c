/* cgfs-file.c — the cgroup file API (see cgfs.h "cgroup files"): fds of named cgroup files,
 * opened beneath a managed root's fd, and what they hold parsed into the common values; and the
 * few writes of cg-syncd's v2 delegation. The backend (ops->file_name) picks every name.
 * Returns >= 0 or -errno; never logs. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgfs-internal.h"
#include "util.h"

/* -1: not tried yet, 0: the kernel has no openat2 (ENOSYS), 1: it has. Racy first use is
 * harmless: every thread finds the same answer. */
static int have_openat2 = -1;

int cgfs_open_beneath(int dirfd, const char *path, int flags) {
        flags |= O_CLOEXEC | O_NOCTTY;
        if (__atomic_load_n(&have_openat2, __ATOMIC_RELAXED) != 0) {
                struct open_how how = {
                        .flags = (uint64_t) flags,
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                   RESOLVE_NO_XDEV,
                };
                long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
                if (fd >= 0) {
                        __atomic_store_n(&have_openat2, 1, __ATOMIC_RELAXED);
                        return (int) fd;
                }
                if (errno != ENOSYS && errno != EPERM) /* EPERM: a seccomp filter said no */
                        return negative_errno();
                __atomic_store_n(&have_openat2, 0, __ATOMIC_RELAXED);
        }
        /* cgroupfs has no symlinks; the path passed cgfs_path_is_safe(): no ".." to climb */
        int fd = openat(dirfd, path, flags | O_NOFOLLOW);
        return fd < 0 ? negative_errno() : fd;
}

static bool file_fits(enum cgfs_file f, enum conf_subsys s) {
        switch (f) {
        case CGFS_FILE_CPU_USAGE:
                return s == CONF_CPU;
        case CGFS_FILE_IO_STAT:
        case CGFS_FILE_THROTTLE_RULE:
                return s == CONF_BLKIO;
        case CGFS_FILE_CPU_THROTTLE:
                return s == CONF_CPU;
        case CGFS_FILE_RESET: /* the seed's reset: cpuacct.usage and blkio.reset_stats only */
                return s == CONF_CPU || s == CONF_BLKIO;
        case CGFS_FILE_PRESSURE:
                return s == CONF_CPU || s == CONF_BLKIO || s == CONF_MEMORY;
        case CGFS_FILE_MEM_USAGE:
        case CGFS_FILE_MEM_PEAK:
        case CGFS_FILE_MEM_EVENTS:
                return s == CONF_MEMORY;
        case CGFS_FILE_PIDS_CURRENT:
                return s == CONF_PIDS;
        default:
                return true;
        }
}

/* The files of a slice's cgroup are the v2 ones: systemd mode names and parses as v2. */
static const struct cgfs_ops *file_ops(const struct cgfs *fs) {
        return fs->sd ? &cgfs_ops_v2 : fs->ops;
}

/* The hierarchy (index into fs->h) a single file f of s lives in, -1 if none: the accounting
 * one, except v1's CFS bandwidth counters, which are the cpu controller's (cpu.stat beside
 * cpu.cfs_quota_us), not cpuacct's. */
static int file_hier(const struct cgfs *fs, enum conf_subsys s, enum cgfs_file f) {
        if (f == CGFS_FILE_CPU_THROTTLE && !fs->v2 && fs->n_sub[s] > 0)
                return (int) fs->sub[s][0];
        return fs->acct[s];
}

/* systemd mode: the node's cgroup is its slice's, where the manager put it (cgroup_dir(),
 * from the slices' ControlGroup); only read-only files, never the processes (placement goes
 * through the manager). Opened without following a symlink, beneath that directory. */
static int open_file_systemd(struct cgfs *fs, enum conf_subsys s, const char *path,
                             enum cgfs_file f, int flags, int *ret_fds, size_t max,
                             size_t *ret_n) {
        _cleanup_free_ char *dir = NULL;
        const char *name;
        int dfd, fd, r;

        if (f == CGFS_FILE_PROCS && (flags & O_ACCMODE) != O_RDONLY)
                return -EOPNOTSUPP;
        if (max < 1)
                return -ENOBUFS;
        name = file_ops(fs)->file_name(fs, s, f);
        if (!name)
                return -EOPNOTSUPP;
        r = fs->ops->cgroup_dir(fs, s, path, &dir);
        if (r < 0)
                return r;
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = cgfs_open_beneath(dfd, name, flags);
        (void) close(dfd);
        if (fd < 0)
                return fd;
        ret_fds[0] = fd; /* ownership: the caller's from here */
        *ret_n = 1;
        return 0;
}

int cgfs_open_file(struct cgfs *fs, enum conf_subsys s, const char *path, enum cgfs_file f,
                   int flags, int *ret_fds, size_t max, size_t *ret_n) {
        int fds[CGFS_MAX_HIERS_PER_SUBSYS];
        size_t idx[CGFS_MAX_HIERS_PER_SUBSYS], n = 0;
        char file[CGFS_PATH_BUF + 64];
        const char *name;
        int r = 0;

        if (!fs || (unsigned) s >= _CONF_SUBSYS_MAX || (unsigned) f >= _CGFS_FILE_MAX ||
            !file_fits(f, s) || !cgfs_path_is_safe(path, true) ||
            (flags & ~(O_ACCMODE | O_TRUNC)) || (flags & O_ACCMODE) == O_ACCMODE || !ret_fds ||
            !ret_n)
                return -EINVAL;
        if (fs->ops->cgroup_dir)
                return open_file_systemd(fs, s, path, f, flags, ret_fds, max, ret_n);
        if (f == CGFS_FILE_PROCS)
                for (size_t k = 0; k < fs->n_sub[s]; k++)
                        idx[n++] = fs->sub[s][k];
        else if (file_hier(fs, s, f) >= 0)
                idx[n++] = (size_t) file_hier(fs, s, f);
        if (n == 0)
                return -ENOMEDIUM;
        if (n > max)
                return -ENOBUFS;
        name = file_ops(fs)->file_name(fs, s, f);
        if (!name)
                return -EOPNOTSUPP;
        snprintf(file, sizeof(file), "%s%s%s", path, *path ? "/" : "", name);
        for (size_t k = 0; k < n; k++) {
                struct cgfs_hier *h = &fs->h[idx[k]];

                r = cgfs_hier_root_fd(fs, h);
                if (r >= 0)
                        r = fds[k] = cgfs_open_beneath(h->root_fd, file, flags);
                if (r < 0) {
                        while (k-- > 0)
                                (void) close(fds[k]);
                        return r;
                }
        }
        memcpy(ret_fds, fds, n * sizeof(*fds)); /* ownership: the caller's from here */
        *ret_n = n;
        return 0;
}

const char *cgfs_file_name(struct cgfs *fs, enum conf_subsys s, enum cgfs_file f) {
        if (!fs || (unsigned) s >= _CONF_SUBSYS_MAX || (unsigned) f >= _CGFS_FILE_MAX ||
            !file_fits(f, s))
                return NULL;
        return file_ops(fs)->file_name(fs, s, f);
}

int cgfs_describe_file(struct cgfs *fs, enum conf_subsys s, const char *path, enum cgfs_file f,
                       char **ret) {
        const char *name = cgfs_file_name(fs, s, f), *dir = cgfs_acct_dir(fs, s);

        if (!name || !dir || !path)
                return -EINVAL;
        if (!fs->sd && file_hier(fs, s, f) >= 0)
                dir = fs->h[file_hier(fs, s, f)].root_abs;
        return xasprintf(ret, "%s/%s%s%s", dir, path, *path ? "/" : "", name);
}

const char *cgfs_reset_value(const struct cgfs *fs, enum conf_subsys s) {
        (void) fs;
        return s == CONF_CPU ? "0" : "1";
}

bool cgfs_io_needs_throttle_rule(struct cgfs *fs) {
        const char *name;

        if (fs->v2 || fs->acct[CONF_BLKIO] < 0)
                return false;
        name = file_ops(fs)->file_name(fs, CONF_BLKIO, CGFS_FILE_IO_STAT);
        return name && strncmp(name, "blkio.throttle.", 15) == 0;
}

void cgfs_buf_free(struct cgfs_buf *b) {
        if (!b)
                return;
        free(b->p);
        *b = (struct cgfs_buf){};
}

int cgfs_read_fd(int fd, struct cgfs_buf *b) {
        size_t len = 0;

        for (;;) {
                size_t want;
                ssize_t k;

                if (b->cap - len < 2) {
                        size_t cap = b->cap ? b->cap * 2 : 4096;
                        char *p = realloc(b->p, cap);
                        if (!p)
                                return -ENOMEM;
                        b->p = p;
                        b->cap = cap;
                }
                want = b->cap - len - 1;
                k = pread(fd, b->p + len, want, (off_t) len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                len += (size_t) k;
                /* A short read is the end: seq_file fills the buffer while it has records, and a
                 * regular file (fixtures) has no more. Saves a second pread per file and tick. */
                if ((size_t) k < want)
                        break;
                if (len > INT32_MAX)
                        return -EFBIG;
        }
        b->p[len] = '\0';
        b->len = len;
        return (int) len;
}

int cgfs_parse_cpu_usage(const struct cgfs *fs, const char *text, uint64_t *ret) {
        return file_ops(fs)->parse_cpu_usage(text, ret);
}

int cgfs_parse_io(const struct cgfs *fs, const char *text, struct acct_blkio *ret) {
        return file_ops(fs)->parse_io(text, ret);
}

enum cgfs_file cgfs_file_alias(const struct cgfs *fs, enum conf_subsys s, enum cgfs_file f) {
        (void) s;
        if (f == CGFS_FILE_CPU_THROTTLE && file_ops(fs) == &cgfs_ops_v2)
                return CGFS_FILE_CPU_USAGE;
        return f;
}

int cgfs_parse_file(const struct cgfs *fs, enum conf_subsys s, enum cgfs_file f,
                    const char *text, struct acct_value *v) {
        uint64_t a, b;
        bool v2;
        int r;

        if (!fs || !text || !v || (unsigned) s >= _CONF_SUBSYS_MAX ||
            (unsigned) f >= _CGFS_FILE_MAX || !file_fits(f, s))
                return -EINVAL;
        v2 = file_ops(fs) == &cgfs_ops_v2;
        switch (f) {
        case CGFS_FILE_CPU_USAGE:
                return cgfs_parse_cpu_usage(fs, text, &v->usage);
        case CGFS_FILE_IO_STAT:
                return cgfs_parse_io(fs, text, &v->blkio);
        case CGFS_FILE_CPU_THROTTLE:
                r = acct_parse_cpu_throttle(text, v2, &a, &b);
                if (r < 0)
                        return r;
                v->nr_throttled = a;
                v->throttled_usec = b;
                v->has |= ACCT_HAS_THROTTLE;
                return 0;
        case CGFS_FILE_PRESSURE:
                return acct_parse_pressure(text, &v->pressure);
        case CGFS_FILE_MEM_USAGE:
        case CGFS_FILE_MEM_PEAK:
        case CGFS_FILE_PIDS_CURRENT:
                r = acct_parse_number(text, &a);
                if (r < 0)
                        return r;
                if (f == CGFS_FILE_MEM_USAGE) {
                        v->mem_usage = a;
                        v->has |= ACCT_HAS_MEM_USAGE;
                } else if (f == CGFS_FILE_MEM_PEAK) {
                        v->mem_peak = a;
                        v->has |= ACCT_HAS_MEM_PEAK;
                } else {
                        v->pids_current = a;
                        v->has |= ACCT_HAS_PIDS_CURRENT;
                }
                return 0;
        case CGFS_FILE_MEM_EVENTS:
                /* v1 memory.failcnt: the times usage hit the limit; v2 has no such counter, its
                 * memory.events says how often the OOM killer struck in the cgroup */
                if (!v2) {
                        r = acct_parse_number(text, &a);
                        if (r < 0)
                                return r;
                        v->mem_failcnt = a;
                        v->has |= ACCT_HAS_MEM_FAILCNT;
                        return 0;
                }
                r = acct_parse_keyed(text, "oom_kill", &a);
                if (r < 0)
                        return r;
                v->mem_oom_kill = a;
                v->has |= ACCT_HAS_MEM_OOM_KILL;
                return 0;
        default:
                return -EINVAL;
        }
}

int cgfs_read_pids_fd(int fd, struct cgfs_buf *b, pid_t **ret, size_t *n) {
        int r = cgfs_read_fd(fd, b);
        return r < 0 ? r : cgfs_parse_pids(b->p, ret, n);
}

int cgfs_write_fd(int fd, const char *text) {
        size_t len = strlen(text);
        ssize_t k = write(fd, text, len);

        if (k < 0)
                return negative_errno();
        return (size_t) k == len ? 0 : -EIO;
}

int cgfs_write_pid(int fd, pid_t pid) {
        char num[16];
        int r;

        if (pid <= 0)
                return -EINVAL;
        snprintf(num, sizeof(num), "%d", (int) pid);
        r = cgfs_write_fd(fd, num);
        /* ENODEV: the cgroup was removed under a cached fd */
        return r == -ENODEV ? -ENOENT : r;
}

int cgfs_read_cpu_usage(struct cgfs *fs, const char *path, uint64_t *ret) {
        struct cgfs_buf b = {};
        size_t n;
        int fd, r;

        r = cgfs_open_file(fs, CONF_CPU, path, CGFS_FILE_CPU_USAGE, O_RDONLY, &fd, 1, &n);
        if (r < 0)
                return r;
        r = cgfs_read_fd(fd, &b);
        if (r >= 0)
                r = cgfs_parse_cpu_usage(fs, b.p, ret);
        (void) close(fd);
        cgfs_buf_free(&b);
        return r;
}

/* ---- v2 delegation ---- */

/* An fd of <unified mount>/<base>/<dir> opened beneath the mount. */
static int deleg_dir(const struct cgfs *fs, const char *base, const char *dir) {
        char p[2 * CGFS_PATH_BUF];

        if (!fs->v2 || fs->n_sub[CONF_CPU] == 0)
                return -ENOMEDIUM;
        if (!cgfs_path_is_safe(base, false) || !cgfs_path_is_safe(dir, true))
                return -EINVAL;
        snprintf(p, sizeof(p), "%s%s%s", base, *dir ? "/" : "", dir);
        return cgfs_open_beneath(fs->h[fs->sub[CONF_CPU][0]].mount_fd, p, O_RDONLY | O_DIRECTORY);
}

int cgfs_deleg_holds(const struct cgfs *fs, const char *base, const char *dir, pid_t pid) {
        _cleanup_close_ int dfd = -1, fd = -1;
        _cleanup_free_ pid_t *pids = NULL;
        struct cgfs_buf b = {};
        size_t n = 0;
        int r;

        dfd = deleg_dir(fs, base, dir);
        if (dfd < 0)
                return dfd;
        fd = cgfs_open_beneath(dfd, file_ops(fs)->file_name((struct cgfs *) fs, CONF_CPU,
                                                       CGFS_FILE_PROCS),
                               O_RDONLY);
        if (fd < 0)
                return fd;
        r = cgfs_read_pids_fd(fd, &b, &pids, &n);
        cgfs_buf_free(&b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return 1;
        return 0;
}

int cgfs_deleg_mkdir(const struct cgfs *fs, const char *base, const char *dir) {
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *parent = NULL;
        const char *slash = strrchr(dir, '/'), *name;

        if (!cgfs_path_is_safe(dir, false))
                return -EINVAL;
        parent = slash ? strndup(dir, (size_t) (slash - dir)) : strdup("");
        if (!parent)
                return -ENOMEM;
        name = slash ? slash + 1 : dir;
        dfd = deleg_dir(fs, base, parent);
        if (dfd < 0)
                return dfd;
        if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int cgfs_deleg_attach(const struct cgfs *fs, const char *base, const char *dir, pid_t pid) {
        _cleanup_close_ int dfd = -1, fd = -1;

        dfd = deleg_dir(fs, base, dir);
        if (dfd < 0)
                return dfd;
        fd = cgfs_open_beneath(dfd, file_ops(fs)->file_name((struct cgfs *) fs, CONF_CPU,
                                                       CGFS_FILE_PROCS),
                               O_WRONLY);
        if (fd < 0)
                return fd;
        return cgfs_write_pid(fd, pid);
}

int cgfs_deleg_enable(const struct cgfs *fs, const char *base, const char *dir, const char *ctl) {
        _cleanup_close_ int dfd = -1;
        _cleanup_free_ char *avail = NULL, *on = NULL;
        char plus[32];
        int r;

        if (!ctl || !*ctl || strlen(ctl) > 16 || strpbrk(ctl, " \n/"))
                return -EINVAL;
        dfd = deleg_dir(fs, base, dir);
        if (dfd < 0)
                return dfd;
        r = read_full_file_at(dfd, "cgroup.controllers", &avail, NULL);
        if (r >= 0)
                r = read_full_file_at(dfd, "cgroup.subtree_control", &on, NULL);
        if (r < 0)
                return r;
        if (!cgfs_controllers_have(avail, ctl) || cgfs_controllers_have(on, ctl))
                return 0;
        snprintf(plus, sizeof(plus), "+%s", ctl);
        r = cgfs_write_at(dfd, "cgroup.subtree_control", plus);
        return r < 0 ? r : 1;
}
